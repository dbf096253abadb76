/// One statement as the rules read it: where it is in its file and its skeleton's tokens. Rules
/// receive it as a value, so that no rule depends on which statement another rule looked at last.
struct LintStatement {
    let source: SQLStatement
    let tokens: SkeletonTokens
    /// 0-based position among its script's statements.
    let position: Int

    init(_ source: SQLStatement, position: Int) {
        self.source = source
        self.tokens = SkeletonTokens(source.skeleton)
        self.position = position
    }

    /// 1-based line of the statement's first token in its file.
    var line: Int { source.line }

    /// The first `count` keywords, for messages: `CREATE INDEX`, `ALTER TABLE orders`.
    func leadingWords(_ count: Int) -> String {
        (0..<count).compactMap { tokens.word(at: $0) }.joined(separator: " ")
    }
}
