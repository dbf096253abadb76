/// A file's own `BEGIN; … COMMIT;` around its statements, as `psql -f` would run it.
///
/// A script whose only transaction control is a leading `BEGIN` (or `START TRANSACTION`, with
/// or without options such as `ISOLATION LEVEL SERIALIZABLE`) and a trailing `COMMIT` (or
/// `END`) is an ordinary transactional migration: the runner's transaction replaces the
/// wrapper, opened with the wrapper's own `BEGIN` text so that its options still apply, and
/// the statements in between run atomically with the migration's tracking row.
public struct TransactionWrapper: Sendable, Hashable {
    /// The opening statement (`BEGIN`, `START TRANSACTION ISOLATION LEVEL …`).
    public let begin: SQLStatement
    /// The closing statement (`COMMIT` or `END`).
    public let commit: SQLStatement

    /// The wrapper of `statements`, or nil when they have none (or something else also
    /// controls the transaction, which ``MigrationScript/transactionControlOffences`` reports).
    init?(_ statements: [SQLStatement], closingWithRollback: Bool = false) {
        guard statements.count >= 2, let first = statements.first, let last = statements.last,
            Self.opens(first), Self.closes(last) || (closingWithRollback && Self.rollsBack(last)),
            !statements.dropFirst().dropLast().contains(where: \.isTransactionControl)
        else { return nil }
        self.begin = first
        self.commit = last
    }

    private static func words(_ statement: SQLStatement) -> [Substring] {
        statement.skeleton.split(separator: " ")
    }

    static func opens(_ statement: SQLStatement) -> Bool {
        guard statement.isTransactionControl else { return false }
        let words = words(statement)
        return words.first == "BEGIN" || (words.first == "START" && words.dropFirst().first == "TRANSACTION")
    }

    /// `ROLLBACK` (a verify script's wrapper, so that its checks change nothing).
    static func rollsBack(_ statement: SQLStatement) -> Bool {
        guard statement.isTransactionControl else { return false }
        let words = words(statement)
        return (words.first == "ROLLBACK" || words.first == "ABORT")
            && words.dropFirst().allSatisfy { $0 == "WORK" || $0 == "TRANSACTION" }
    }

    static func closes(_ statement: SQLStatement) -> Bool {
        guard statement.isTransactionControl else { return false }
        let words = words(statement)
        guard words.first == "COMMIT" || words.first == "END" else { return false }
        // `COMMIT AND CHAIN` opens another transaction; `COMMIT PREPARED` ends a two-phase one.
        var rest = Array(words.dropFirst())
        if rest.first == "WORK" || rest.first == "TRANSACTION" { rest.removeFirst() }
        return rest.isEmpty || rest == ["AND", "NO", "CHAIN"]
    }
}
