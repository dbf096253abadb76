import Foundation
import PostgresNIO

extension OrderStore {
    public func createOrganization(slug: String, name: String) async throws -> Organization {
        let slug = try Validate.slug(slug)
        let name = try Validate.text(name, field: "name", maxLength: 255)
        return try await writeRow(
            "INSERT INTO organizations (slug, name) VALUES (\(slug), \(name)) RETURNING \(unescaped: Organization.columns)",
            decode: Organization.init(row:)
        ).orThrow(.conflict(reason: "the organization was not created"))
    }

    public func organization(id: Int64) async throws -> Organization {
        try await row(
            "SELECT \(unescaped: Organization.columns) FROM organizations WHERE id = \(id)", decode: Organization.init(row:)
        ).orThrow(.notFound(resource: .organization, id: "\(id)"))
    }

    /// Adds a user to an organization; the organization and the user must exist, once each.
    public func addMember(organizationId: Int64, userId: Int64, role: MemberRole) async throws -> Membership {
        do {
            return try await writeRow(
                """
                INSERT INTO organization_members (organization_id, user_id, role)
                VALUES (\(organizationId), \(userId), \(role.rawValue))
                RETURNING \(unescaped: Membership.columns)
                """, decode: Membership.init(row:)
            ).orThrow(.conflict(reason: "the membership was not created"))
        } catch ConstraintViolation.missingReference(let resource) {
            throw StoreError.notFound(resource: resource, id: resource == .user ? "\(userId)" : "\(organizationId)")
        }
    }

    /// Removes a membership, if its role is one of `roles`. If it was the user's active
    /// organization, the trigger of migration 008 clears it in the same statement.
    ///
    /// The role is checked by the `DELETE` itself, so that a caller allowed to remove some roles
    /// only never removes a member whose role changed meanwhile.
    ///
    /// - Returns: `true` when removed; `false` when the user is a member with a role not in
    ///   `roles` (nothing changed).
    /// - Throws: ``StoreError/notFound(resource:id:)`` when the user is not a member.
    @discardableResult
    public func removeMember(
        organizationId: Int64, userId: Int64, ifRoleIn roles: Set<MemberRole> = Set(MemberRole.allCases)
    ) async throws -> Bool {
        let removed = try await writeRow(
            """
            DELETE FROM organization_members
            WHERE organization_id = \(organizationId) AND user_id = \(userId) AND role = ANY(\(roles.map(\.rawValue)))
            RETURNING user_id
            """
        ) { try $0.decode(Int64.self) }
        if removed != nil { return true }
        // Nothing removed: a membership of another role, or none.
        guard try await membershipRole(organizationId: organizationId, userId: userId) != nil else {
            throw StoreError.notFound(resource: .membership, id: "organization \(organizationId), user \(userId)")
        }
        return false
    }

    /// Makes `organizationId` the user's active organization through `set_user_active_org`
    /// (which refuses non-members, SQLSTATE SQ403) and reads it back through
    /// `get_user_active_org`, in one transaction: the setter's `FOR KEY SHARE` keeps the
    /// membership in place until both have run.
    public func setActiveOrganization(userId: Int64, organizationId: Int64) async throws -> ActiveOrganization {
        do {
            let active = try await transaction { connection in
                // Drained, so that an error raised while the row streams surfaces here.
                for try await _ in try await connection.query(
                    "SELECT set_user_active_org(\(userId), \(organizationId))", logger: logger) {}
                return try await Self.activeOrganization(userId: userId, on: connection, logger: logger)
            }
            return try active.orThrow(.notMember(userId: userId, organizationId: organizationId))
        } catch ConstraintViolation.notAMember {
            // SQ403: say which of user, organization or membership is missing.
            _ = try await user(id: userId)
            _ = try await organization(id: organizationId)
            throw StoreError.notMember(userId: userId, organizationId: organizationId)
        }
    }

    /// The user's active organization (`get_user_active_org`); not found when none is set.
    public func activeOrganization(userId: Int64) async throws -> ActiveOrganization {
        let active = try await retrying {
            try await withConnection { connection in
                try await Self.activeOrganization(userId: userId, on: connection, logger: logger)
            }
        }
        if let active { return active }
        _ = try await user(id: userId)
        throw StoreError.notFound(resource: .activeOrganization, id: "of user \(userId)")
    }

    private static func activeOrganization(
        userId: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws -> ActiveOrganization? {
        let rows = try await connection.query(
            """
            SELECT organization_id, organization_slug, organization_name, user_role FROM get_user_active_org(\(userId))
            """, logger: logger)
        for try await (id, slug, name, role) in rows.decode((Int64, String, String, String).self) {
            return ActiveOrganization(organizationId: id, slug: slug, name: name, role: MemberRole(rawValue: role) ?? .member)
        }
        return nil
    }
}
