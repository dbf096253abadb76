import Crypto
import Foundation
import PostgresNIO

/// Who a token speaks for: the back office (everything) or one customer.
public enum TokenRole: String, Sendable, Hashable, CaseIterable, Codable {
    case admin, customer
}

/// An API token as stored: never the token itself, which exists only in the caller's hands.
public struct APIToken: Sendable, Hashable {
    public let id: Int64
    public let name: String
    public let role: TokenRole
    /// The customer's user; `nil` for an admin token.
    public let userId: Int64?
    public let createdAt: Date
    public let expiresAt: Date?
    public let lastUsedAt: Date?
    public let revokedAt: Date?

    static let columns = "id, name, role, user_id, created_at, expires_at, last_used_at, revoked_at"

    init(row: PostgresRow) throws {
        let (id, name, role, userId, createdAt, expiresAt, lastUsedAt, revokedAt) = try row.decode(
            (Int64, String, String, Int64?, Date, Date?, Date?, Date?).self)
        guard let role = TokenRole(rawValue: role) else {
            throw StoreError.conflict(reason: "token \(id) has an unknown role")
        }
        (self.id, self.name, self.role, self.userId) = (id, name, role, userId)
        (self.createdAt, self.expiresAt, self.lastUsedAt, self.revokedAt) = (createdAt, expiresAt, lastUsedAt, revokedAt)
    }
}

/// A token just created: the only time its secret is known.
public struct IssuedToken: Sendable {
    public let token: APIToken
    /// `sqls_` and the base64url of 32 random bytes: show it once, store it nowhere.
    public let secret: String
}

/// The secret of a token and its stored form.
public enum TokenSecret {
    public static let prefix = "sqls_"

    /// A fresh secret: 256 bits from the system's cryptographic generator.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return prefix + Base64URL.encode(bytes)
    }

    /// Whether `text` has the shape of a secret (`sqls_` and 43 base64url characters); anything
    /// else cannot be a token and needs no look-up.
    public static func isWellFormed(_ text: Substring) -> Bool {
        guard text.utf8.count == prefix.utf8.count + 43, text.hasPrefix(prefix) else { return false }
        return text.utf8.dropFirst(prefix.utf8.count).allSatisfy(Base64URL.isDigit)
    }

    /// The SHA-256 the database keeps instead of the secret: random 256-bit secrets need no salt
    /// or slow hash, since nobody can guess one to compare.
    public static func hash(_ secret: some StringProtocol) -> Data {
        Data(SHA256.hash(data: Data(secret.utf8)))
    }
}

extension OrderStore {
    /// The longest a token may live: 10 years. A token that should never expire is made without
    /// a lifetime; a lifetime longer than this is more likely a mistake in its unit.
    public static let maximumTokenLifetime = Duration.seconds(10 * 365 * 86_400)

    /// Creates a token. A customer token needs `userId` of an existing user; an admin token has none.
    ///
    /// - Throws: ``StoreError/notFound(resource:id:)`` for a missing user,
    ///   ``StoreError/invalidInput(field:reason:)`` for a bad name, a lifetime outside 1 s to
    ///   ``maximumTokenLifetime``, or a bad role/user pair.
    public func createToken(role: TokenRole, userId: Int64?, name: String, expiresIn: Duration?) async throws -> IssuedToken {
        let name = try Validate.text(name, field: "name", maxLength: 100)
        guard (role == .customer) == (userId != nil) else {
            throw StoreError.invalidInput(field: "user_id", reason: "a customer token needs a user and an admin token has none")
        }
        var seconds: Int64?
        if let expiresIn {
            guard expiresIn > .zero, expiresIn <= Self.maximumTokenLifetime else {
                throw StoreError.invalidInput(
                    field: "expires_in", reason: "must be 1 to \(Self.maximumTokenLifetime.components.seconds) seconds (10 years)")
            }
            seconds = expiresIn.components.seconds
        }
        let secret = TokenSecret.generate()
        let hash = TokenSecret.hash(secret)
        let token = try await writeRow(
            """
            INSERT INTO api_tokens (token_hash, name, role, user_id, expires_at)
            SELECT \(hash), \(name), \(role.rawValue), \(userId),
                   now() + make_interval(secs => \(seconds)::double precision)
            WHERE \(userId)::bigint IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = \(userId))
            RETURNING \(unescaped: APIToken.columns)
            """, decode: APIToken.init(row:))
        guard let token else { throw StoreError.notFound(resource: .user, id: "\(userId ?? 0)") }
        return IssuedToken(token: token, secret: secret)
    }

    /// The live token whose secret hashes to `hash`, marking it used; `nil` when there is none,
    /// it is revoked or expired, or its role is not one this code knows (it fails closed: a
    /// role added to the table later is refused, not decoded as something else). One statement,
    /// one round trip.
    ///
    /// `last_used_at` is bookkeeping, so its commit is asynchronous (`synchronous_commit` off for
    /// this transaction only): verifying a token never waits for a WAL flush or for a synchronous
    /// standby, which would make every request wait on the write path's durability, and a request
    /// stuck there would hold the token's row against every other request of that token. A crash
    /// can lose the last fraction of a second of `last_used_at`, and nothing else.
    public func verifyToken(hash: Data) async throws -> APIToken? {
        try await row(
            """
            UPDATE api_tokens SET last_used_at = now()
            FROM (SELECT set_config('synchronous_commit', 'off', true)) AS asynchronous_commit
            WHERE token_hash = \(hash) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
              AND role = ANY(\(TokenRole.allCases.map(\.rawValue)))
            RETURNING \(unescaped: APIToken.columns)
            """, decode: APIToken.init(row:))
    }

    /// Every token, oldest first (never their secrets).
    public func tokens() async throws -> [APIToken] {
        try await rows("SELECT \(unescaped: APIToken.columns) FROM api_tokens ORDER BY id", decode: APIToken.init(row:))
    }

    public func token(id: Int64) async throws -> APIToken {
        try await row("SELECT \(unescaped: APIToken.columns) FROM api_tokens WHERE id = \(id)", decode: APIToken.init(row:))
            .orThrow(.notFound(resource: .token, id: "\(id)"))
    }

    /// Revokes a token; revoking it again changes nothing.
    ///
    /// - Parameter role: revoke only a token of this role (the API revokes customer tokens only:
    ///   admin tokens are managed with the CLI, by whoever holds the database).
    /// - Throws: ``StoreError/notFound(resource:id:)`` when there is no such token (of `role`).
    public func revokeToken(id: Int64, role: TokenRole? = nil) async throws {
        let revoked = try await writeRow(
            """
            UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
            WHERE id = \(id) AND (\(role?.rawValue)::text IS NULL OR role = \(role?.rawValue))
            RETURNING id
            """, decode: { try $0.decode(Int64.self) })
        guard revoked != nil else { throw StoreError.notFound(resource: .token, id: "\(id)") }
    }

    /// The role of `userId` in `organizationId`, `nil` if not a member.
    public func membershipRole(organizationId: Int64, userId: Int64) async throws -> MemberRole? {
        try await row(
            "SELECT role FROM organization_members WHERE organization_id = \(organizationId) AND user_id = \(userId)",
            decode: { try $0.decode(String.self) }
        ).flatMap(MemberRole.init(rawValue:))
    }
}
