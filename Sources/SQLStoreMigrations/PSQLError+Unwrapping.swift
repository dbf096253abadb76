package import PostgresNIO

extension PSQLError {
    /// The PostgreSQL error behind `error`: `error` itself, or the one a `withTransaction` body,
    /// its `COMMIT` or its `BEGIN` threw. Nil when PostgreSQL and PostgresNIO reported nothing.
    ///
    /// The one place the runner and the store read PostgresNIO's error types, so that both see
    /// the same SQLSTATE for the same failure.
    package init?(unwrapping error: any Error) {
        var underlying: any Error = error
        if let transaction = error as? PostgresTransactionError {
            underlying = transaction.closureError ?? transaction.commitError ?? transaction.beginError ?? error
        }
        guard let psql = underlying as? PSQLError else { return nil }
        self = psql
    }
}
