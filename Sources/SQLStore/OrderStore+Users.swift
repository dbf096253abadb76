import Foundation
import PostgresNIO

extension OrderStore {
    /// Creates a user; the email is trimmed and must be unique.
    public func createUser(email: String, name: String) async throws -> User {
        let email = try Validate.email(email)
        let name = try Validate.text(name, field: "name", maxLength: 255)
        let user = try await writeRow(
            "INSERT INTO users (email, name) VALUES (\(email), \(name)) RETURNING \(unescaped: User.columns)",
            decode: User.init(row:))
        return try user.orThrow(.conflict(reason: "the user was not created"))
    }

    public func user(id: Int64) async throws -> User {
        try await row("SELECT \(unescaped: User.columns) FROM users WHERE id = \(id)", decode: User.init(row:))
            .orThrow(.notFound(resource: .user, id: "\(id)"))
    }

    /// Users by id, `pageSize` (clamped to 1...100) at a time.
    public func users(page: Int?, pageSize: Int?) async throws -> OffsetPage<User> {
        let page = try Validate.page(page)
        let size = Paging.clamp(pageSize)
        let rows = try await rows(
            """
            SELECT \(unescaped: User.columns), count(*) OVER ()
            FROM users ORDER BY id LIMIT \(size) OFFSET \((page - 1) * size)
            """
        ) { row in (try User(row: row), try row.makeRandomAccess()[7].decode(Int.self)) }
        // The window count comes with any row; past the last page, count separately.
        let total = if let first = rows.first { first.1 } else { try await count("SELECT count(*) FROM users") }
        return OffsetPage(items: rows.map(\.0), total: total, page: page, pageSize: size)
    }

    /// Changes the given fields if the user is still at `version` (optimistic locking).
    public func updateUser(id: Int64, version: Int32, email: String?, name: String?) async throws -> User {
        let email = try email.map(Validate.email)
        let name = try name.map { try Validate.text($0, field: "name", maxLength: 255) }
        let updated = try await writeRow(
            """
            UPDATE users
            SET email = coalesce(\(email), email), name = coalesce(\(name), name),
                version = version + 1, updated_at = now()
            WHERE id = \(id) AND version = \(version)
            RETURNING \(unescaped: User.columns)
            """, decode: User.init(row:))
        if let updated { return updated }
        throw try await staleOrMissing(table: "users", resource: .user, id: id, expected: version)
    }

    /// Why an optimistic update matched no row: the row is gone, or at another version.
    func staleOrMissing(
        table: String, resource: StoreError.Resource, id: Int64, expected: Int32
    ) async throws -> StoreError {
        let current = try await row("SELECT version FROM \(unescaped: table) WHERE id = \(id)") {
            try $0.decode(Int32.self)
        }
        guard let current else { return .notFound(resource: resource, id: "\(id)") }
        return .versionConflict(resource: resource, id: id, expected: expected, current: current)
    }

    func count(_ query: PostgresQuery) async throws -> Int {
        try await row(query) { try $0.decode(Int.self) } ?? 0
    }
}

extension Optional {
    func orThrow(_ error: StoreError) throws -> Wrapped {
        guard let self else { throw error }
        return self
    }
}
