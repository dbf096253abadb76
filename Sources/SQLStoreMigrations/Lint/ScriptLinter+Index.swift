/// CREATE INDEX and REINDEX: index-without-concurrently, concurrently-if-not-exists, and the
/// schema model's indexes that duplicate-index compares.
extension ScriptLinter {
    mutating func createIndex(_ statement: LintStatement, at start: Int) {
        let tokens = statement.tokens
        var index = start
        let unique = tokens.isWord(index, "UNIQUE")
        if unique { index += 1 }
        guard tokens.isWord(index, "INDEX") else { return }
        index += 1
        let concurrently = tokens.isWord(index, "CONCURRENTLY")
        if concurrently { index += 1 }
        let ifNotExists = tokens.matches(["IF", "NOT", "EXISTS"], at: index)
        if ifNotExists { index += 3 }
        var name: String?
        if !tokens.isWord(index, "ON"), let parsed = tokens.qualifiedName(at: index) {
            name = parsed.name
            index = parsed.next
        }
        guard tokens.isWord(index, "ON") else { return }
        let only = tokens.isWord(index + 1, "ONLY")
        index = tokens.skipping(["ONLY"], at: index + 1)
        guard let (table, afterTable) = tokens.qualifiedName(at: index) else { return }
        // ON ONLY a partitioned table builds nothing: an invalid index the partitions' indexes attach to.
        let buildsNothing = only && schema.partitionedTables.contains(table)
        if concurrently, schema.partitionedTables.contains(table) {
            flag(
                .concurrentlyOnPartitionedTable,
                "CREATE INDEX CONCURRENTLY on the partitioned table \(table) fails (SQLSTATE 0A000): create it ON ONLY "
                    + "\(table), build each partition's index CONCURRENTLY and ATTACH it", at: statement)
        }
        index = afterTable
        var method = "BTREE"
        if tokens.isWord(index, "USING"), let word = tokens.word(at: index + 1) {
            method = word
            index += 2
        }
        guard let end = tokens.closingParenthesis(from: index) else { return }
        let columns = tokens.splitByCommas(index + 1..<end - 1).map { indexColumn(tokens, $0) }
        let rest = end..<tokens.count
        let label = name ?? "on \(table)"

        if !concurrently && isExisting(table) && !buildsNothing {
            flag(
                .indexWithoutConcurrently,
                "CREATE INDEX \(label) without CONCURRENTLY blocks all writes to \(table) until the build ends",
                at: statement)
        }
        if concurrently, ifNotExists, let name, !droppedIfExists.contains(name) {
            flag(
                .concurrentlyIfNotExists,
                "if a build of \(name) fails it leaves an INVALID index that IF NOT EXISTS then keeps; "
                    + "DROP INDEX CONCURRENTLY IF EXISTS \(name) first", at: statement)
        }
        if isDown, !ifNotExists, !(name.map(droppedIfExists.contains) ?? false) {
            flag(
                .nonIdempotentDown,
                name.map { "CREATE INDEX \($0) fails if it already exists: write CREATE INDEX IF NOT EXISTS" }
                    ?? "an unnamed CREATE INDEX adds one more index each time it runs: name it and use IF NOT EXISTS",
                at: statement)
        }
        addIndex(
            SchemaModel.Index(
                name: name ?? "\(table)_\(columns.map { $0?.name ?? "expr" }.joined(separator: "_"))_idx", table: table,
                columns: columns, unique: unique, constraint: nil, isBTree: method == "BTREE",
                isPartial: tokens.containsTopLevel(["WHERE"], in: rest),
                hasInclude: tokens.containsTopLevel(["INCLUDE"], in: rest),
                origin: "\(script.fileName):\(statement.line)"),
            at: statement)
    }

    /// A plain column of an index, with its ordering; nil for anything else.
    func indexColumn(_ tokens: SkeletonTokens, _ range: Range<Int>) -> SchemaModel.IndexColumn? {
        guard let name = tokens[range.lowerBound]?.identifier, !tokens.isSymbol(range.lowerBound + 1, "(") else {
            return nil
        }
        var descending = false
        var nullsFirst: Bool?
        var index = range.lowerBound + 1
        while index < range.upperBound {
            switch tokens.word(at: index) {
            case "ASC": descending = false
            case "DESC": descending = true
            case "NULLS" where tokens.isWord(index + 1, "FIRST"):
                nullsFirst = true
                index += 1
            case "NULLS" where tokens.isWord(index + 1, "LAST"):
                nullsFirst = false
                index += 1
            default: return nil
            }
            index += 1
        }
        return SchemaModel.IndexColumn(name: name, descending: descending, nullsFirst: nullsFirst ?? descending)
    }

    /// Adds an index to the schema, flagging it if it is redundant, or if it makes an earlier one so.
    mutating func addIndex(_ index: SchemaModel.Index, at statement: LintStatement) {
        defer { schema.indexes.append(index) }
        guard !isDown else { return }
        if index.isPlain, let cover = schema.indexes.first(where: { $0.covers(index) }) {
            let relation = cover.columns.count == index.columns.count ? "duplicates" : "is a leading prefix of"
            flag(
                .duplicateIndex, "index \(index.name) on \(index.table) \(index.columnList) \(relation) \(cover.label)",
                at: statement)
            return
        }
        for redundant in schema.indexes where redundant.isPlain && index.covers(redundant) {
            let what = index.constraint.map { "this \($0.rawValue) constraint's index" } ?? "index \(index.name)"
            flag(.duplicateIndex, "\(what) makes \(redundant.label) redundant: drop it", at: statement)
        }
    }

    mutating func reindex(_ statement: LintStatement) {
        let tokens = statement.tokens
        guard !tokens.containsTopLevel(["CONCURRENTLY"]) else { return }
        var index = 1
        if let close = tokens.closingParenthesis(from: index) { index = close }
        guard let kind = tokens.word(at: index), kind == "INDEX" || kind == "TABLE",
            let name = tokens.qualifiedName(at: index + 1)?.name
        else { return }
        if kind == "TABLE" && !isExisting(name) { return }
        flag(
            .indexWithoutConcurrently,
            "REINDEX \(kind) \(name) without CONCURRENTLY blocks writes to the table, and reads that use the index, "
                + "until it ends", at: statement)
    }
}
