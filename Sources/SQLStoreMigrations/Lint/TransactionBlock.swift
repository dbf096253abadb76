extension SQLStatement {
    /// True for statements PostgreSQL refuses inside a transaction block (SQLSTATE 25001):
    /// `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX … CONCURRENTLY`,
    /// `ALTER TABLE … DETACH PARTITION … CONCURRENTLY`, `VACUUM`, `CREATE`/`DROP DATABASE`,
    /// `CREATE`/`DROP TABLESPACE`, `ALTER SYSTEM`, `REINDEX DATABASE|SYSTEM`. A migration holding
    /// one must be marked `-- sqlstore:no-transaction`.
    public var cannotRunInTransactionBlock: Bool {
        SkeletonTokens(skeleton).outsideTransactionOnly != nil
    }
}

extension SkeletonTokens {
    /// What in the statement PostgreSQL refuses inside a transaction block, if anything.
    var outsideTransactionOnly: String? {
        switch word(at: 0) {
        case "CREATE":
            let index = skipping(["UNIQUE"], at: 1)
            if matches(["INDEX", "CONCURRENTLY"], at: index) { return "CREATE INDEX CONCURRENTLY" }
            if isWord(1, "DATABASE") { return "CREATE DATABASE" }
            if isWord(1, "TABLESPACE") { return "CREATE TABLESPACE" }
        case "DROP":
            if matches(["INDEX", "CONCURRENTLY"], at: 1) { return "DROP INDEX CONCURRENTLY" }
            if isWord(1, "DATABASE") { return "DROP DATABASE" }
            if isWord(1, "TABLESPACE") { return "DROP TABLESPACE" }
        case "REINDEX":
            if containsTopLevel(["CONCURRENTLY"]) { return "REINDEX CONCURRENTLY" }
            if containsTopLevel(["DATABASE"]) || containsTopLevel(["SYSTEM"]) {
                return "REINDEX DATABASE/SYSTEM"
            }
        case "VACUUM":
            return "VACUUM"
        case "ALTER":
            if isWord(1, "SYSTEM") { return "ALTER SYSTEM" }
            if isWord(1, "TABLE"), containsTopLevel(["DETACH", "PARTITION"]), containsTopLevel(["CONCURRENTLY"]) {
                return "DETACH PARTITION CONCURRENTLY"
            }
        default:
            break
        }
        return nil
    }
}
