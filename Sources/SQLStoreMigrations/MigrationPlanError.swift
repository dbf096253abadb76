/// A plan the runner refuses before running any of it, with every offending file and line.
///
/// Identified by ``code`` (compare with the static members of ``Code``), so that new kinds of
/// refusal break no caller's `switch`.
public struct MigrationPlanError: Error, CustomStringConvertible, Sendable {
    /// What kind of refusal this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// A script of the plan has top-level transaction control other than a `BEGIN; … COMMIT;`
        /// wrapper (a `COMMIT` in the middle, a `SAVEPOINT`, …), or a wrapper in a
        /// `-- sqlstore:no-transaction` file.
        public static let transactionControl = Code("transaction control")

        public var description: String { name }
    }

    /// One statement the runner cannot run as written.
    public struct Offence: Sendable, Hashable, CustomStringConvertible {
        public let file: String
        public let line: Int
        public let statement: String

        public var description: String { "\(file):\(line): \(statement)" }
    }

    public let code: Code
    /// Every offending statement of the plan, in plan order.
    public let offences: [Offence]

    public var description: String {
        let list = offences.map { "  \($0)" }.joined(separator: "\n")
        switch code {
        case .transactionControl:
            return """
                \(offences.count) statement(s) of the plan control the transaction themselves; nothing was run:
                \(list)
                  the runner wraps each migration in a transaction together with its tracking row. A file \
                may be wrapped in its own leading BEGIN and trailing COMMIT (the runner's transaction \
                replaces them); any other COMMIT, ROLLBACK, SAVEPOINT or RELEASE would split it. Remove \
                them, or split the file into migrations of their own.
                """
        default:
            return "the plan was refused (\(code)); nothing was run:\n\(list)"
        }
    }

    static func transactionControl(in scripts: [MigrationScript]) -> MigrationPlanError? {
        let offences = scripts.flatMap { script in
            script.transactionControlOffences.map {
                Offence(
                    file: script.fileName, line: $0.line,
                    statement: script.directives.transactional
                        ? $0.text : "\($0.text) (in a -- sqlstore:no-transaction file, which runs outside any transaction)")
            }
        }
        return offences.isEmpty ? nil : MigrationPlanError(code: .transactionControl, offences: offences)
    }
}
