/// DO blocks: lint cannot check the statements they run, so it says so when they change the schema.
extension ScriptLinter {
    static let schemaChangingWords: Set<String> = [
        "CREATE", "ALTER", "DROP", "TRUNCATE", "REINDEX", "CLUSTER", "LOCK", "REFRESH", "VACUUM", "EXECUTE",
    ]

    mutating func doBlock(_ statement: LintStatement) {
        guard let body = Self.doBody(statement.source.text),
            let inner = try? SQLSplitter.split(body)
        else { return }
        let words = Set(inner.flatMap { SkeletonTokens($0.skeleton).tokens.filter { $0.kind == .word }.map(\.text) })
        let found = Self.schemaChangingWords.intersection(words).sorted()
        guard !found.isEmpty else { return }
        let list = found.joined(separator: ", ")
        flag(
            .ddlInDoBlock,
            "this DO block runs \(list): lint cannot check what it changes, or the locks it "
                + "takes; write schema changes as top-level statements",
            why: "The \(list) this DO block runs take the same locks and cause the same rewrites as top-level "
                + "statements, but lint reads top-level statements only: no rule has checked them.",
            instead: "Write the block's \(list) as top-level statements of the migration, where lint and reviewers see "
                + "them; if the block must stay, check each against docs/lint.md and acknowledge it with "
                + "`-- sqlstore:lint-ignore=ddl-in-do-block`.",
            at: statement)
    }

    /// The code of `DO [LANGUAGE x] $tag$ … $tag$` or `DO '…'`, without its quotes.
    static func doBody(_ text: String) -> String? {
        if let match = text.firstMatch(of: /(?s)(\$[A-Za-z_0-9]*\$)(.*)\1/) { return String(match.2) }
        if let match = text.firstMatch(of: /(?s)'((?:[^']|'')*)'/) {
            var body = ""
            var previousWasQuote = false
            for character in match.1 {
                if character == "'" && previousWasQuote {
                    previousWasQuote = false
                    continue
                }
                previousWasQuote = character == "'"
                body.append(character)
            }
            return body
        }
        return nil
    }
}
