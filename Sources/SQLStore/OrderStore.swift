import Crypto
import Foundation
import Logging
import PostgresNIO

/// The store: users, products, orders and organizations on PostgreSQL, knowing nothing of HTTP.
///
/// It runs on a `PostgresClient` pool that the caller runs (as a service). Every operation
/// is one statement where correctness allows, retried on serialization failures, deadlocks and
/// lock timeouts, and its errors are ``StoreError``s.
public struct OrderStore: Sendable {
    public let client: PostgresClient
    let logger: Logger
    var retry: RetryPolicy
    let cursorKey: SymmetricKey

    /// - Parameter cursorSecret: signs page cursors so tampered ones are refused. Instances
    ///   serving one database must share it.
    public init(client: PostgresClient, cursorSecret: String, retry: RetryPolicy = .init(), logger: Logger) {
        self.client = client
        self.logger = logger
        self.retry = retry
        self.cursorKey = SymmetricKey(data: SHA256.hash(data: Data("sqlstore-cursor:\(cursorSecret)".utf8)))
    }

    /// Runs one query and decodes every row with `decode`.
    func rows<Value: Sendable>(
        _ query: PostgresQuery, decode: @escaping @Sendable (PostgresRow) throws -> Value
    ) async throws -> [Value] {
        try await retrying {
            var values: [Value] = []
            for try await row in try await client.query(query, logger: logger) {
                values.append(try decode(row))
            }
            return values
        }
    }

    /// Runs one query and decodes its first row, if any.
    func row<Value: Sendable>(
        _ query: PostgresQuery, decode: @escaping @Sendable (PostgresRow) throws -> Value
    ) async throws -> Value? {
        try await rows(query, decode: decode).first
    }
}
