/// A migrations folder that cannot be used as it is, with every problem found in one pass.
///
/// Identified by ``code`` (compare with the static members of ``Code``), so that new kinds of
/// problem break no caller's `switch`.
public struct MigrationFolderError: Error, CustomStringConvertible, Sendable {
    /// What kind of problem this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// Files that cannot be read as migrations: unreadable names (each with its own reason),
        /// scripts the lexer or directive parser rejects, psql-only syntax.
        public static let unreadableFiles = Code("unreadable files")
        /// Nothing in the folder is a migration of any known layout.
        public static let nothingRecognised = Code("nothing recognised")

        public var description: String { name }
    }

    public let code: Code
    /// Every problem, one per file and line.
    public let problems: [MigrationSourceError]
    /// The folder, and for ``Code/nothingRecognised`` what was expected and found.
    public let summary: String

    public var description: String {
        ([summary] + problems.map { "  \($0)" }).joined(separator: "\n")
    }
}
