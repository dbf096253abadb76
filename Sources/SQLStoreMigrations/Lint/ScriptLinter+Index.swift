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
        let indexName = name ?? Self.defaultIndexName(tokens, table: table, after: afterTable)
        if concurrently, schema.partitionedTables.contains(table) {
            flag(
                .concurrentlyOnPartitionedTable,
                "CREATE INDEX CONCURRENTLY on the partitioned table \(table) fails (SQLSTATE 0A000): create it ON ONLY "
                    + "\(table), build each partition's index CONCURRENTLY and ATTACH it",
                why: "PostgreSQL 15 refuses CREATE INDEX CONCURRENTLY on the partitioned table \(table) (SQLSTATE "
                    + "0A000): the migration fails on every attempt.",
                instead: "`CREATE INDEX IF NOT EXISTS \(indexName) ON ONLY \(table) …` (builds nothing); then, for each "
                    + "partition p of \(table), in a migration marked `-- sqlstore:no-transaction`, `DROP INDEX "
                    + "CONCURRENTLY IF EXISTS p_\(indexName); CREATE INDEX CONCURRENTLY p_\(indexName) ON p …`, and `ALTER "
                    + "INDEX \(indexName) ATTACH PARTITION p_\(indexName)`.",
                at: statement)
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
                why: "CREATE INDEX holds a SHARE lock on \(table) for the whole build of \(indexName): every INSERT, "
                    + "UPDATE and DELETE of \(table) waits until the build ends (minutes on a large table), and until "
                    + "the migration commits.",
                instead: "In a migration of its own marked `-- sqlstore:no-transaction`: `DROP INDEX CONCURRENTLY IF "
                    + "EXISTS \(indexName); \(Self.concurrentIndex(statement.source.text, name: name == nil ? indexName : nil))`.",
                marking: [unique ? "CREATE UNIQUE INDEX" : "CREATE INDEX"], at: statement)
        }
        if concurrently, ifNotExists, let name, !droppedIfExists.contains(name) {
            flag(
                .concurrentlyIfNotExists,
                "if a build of \(name) fails it leaves an INVALID index that IF NOT EXISTS then keeps; "
                    + "DROP INDEX CONCURRENTLY IF EXISTS \(name) first",
                why: "A failed or cancelled concurrent build leaves \(name) in the catalog, INVALID: on the retry IF NOT "
                    + "EXISTS skips the build and the migration succeeds with an index of \(table) the planner never uses"
                    + (unique ? " and that does not enforce uniqueness of the existing rows." : "."),
                instead: "`DROP INDEX CONCURRENTLY IF EXISTS \(name);` first, then `CREATE \(unique ? "UNIQUE " : "")INDEX "
                    + "CONCURRENTLY \(name) ON \(table) …` without IF NOT EXISTS.",
                marking: ["IF NOT EXISTS"], at: statement)
        }
        if isDown, !ifNotExists, !(name.map(droppedIfExists.contains) ?? false) {
            flag(
                .nonIdempotentDown,
                name.map { "CREATE INDEX \($0) fails if it already exists: write CREATE INDEX IF NOT EXISTS" }
                    ?? "an unnamed CREATE INDEX adds one more index each time it runs: name it and use IF NOT EXISTS",
                why: name.map { "If \($0) is still there (the down script ran before, or was fixed by hand), CREATE "
                    + "INDEX \($0) fails and the rollback with it." }
                    ?? "Each run of an unnamed CREATE INDEX on \(table) builds one more identical index.",
                instead: "`CREATE \(unique ? "UNIQUE " : "")INDEX IF NOT EXISTS \(indexName) ON \(table) …`.",
                marking: [unique ? "CREATE UNIQUE INDEX" : "CREATE INDEX"], at: statement)
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
                why: "\(index.name) costs disk, cache and a write on every INSERT and UPDATE of \(index.table), and serves "
                    + "no lookup that \(cover.label) does not already serve.",
                instead: "Leave \(index.name) out: \(cover.label) serves the same lookups.",
                marking: [index.name], at: statement)
            return
        }
        for redundant in schema.indexes where redundant.isPlain && index.covers(redundant) {
            let what = index.constraint.map { "this \($0.rawValue) constraint's index" } ?? "index \(index.name)"
            flag(
                .duplicateIndex, "\(what) makes \(redundant.label) redundant: drop it",
                why: "Once \(what) exists, \(redundant.name) costs disk, cache and a write on every INSERT and UPDATE "
                    + "of \(redundant.table), and serves no lookup the new one does not.",
                instead: "Drop it, in a migration marked `-- sqlstore:no-transaction`: `DROP INDEX CONCURRENTLY IF EXISTS "
                    + "\(redundant.name)`.",
                at: statement)
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
        let table = kind == "TABLE" ? name : schema.indexes.first { $0.name == name }?.table ?? "its table"
        flag(
            .indexWithoutConcurrently,
            "REINDEX \(kind) \(name) without CONCURRENTLY blocks writes to the table, and reads that use the index, "
                + "until it ends",
            why: "REINDEX \(kind) \(name) blocks every INSERT, UPDATE and DELETE of \(table), and every query that "
                + "would use the index, until the rebuild ends and the migration commits.",
            instead: "`REINDEX \(kind) CONCURRENTLY \(name)`, in a migration marked `-- sqlstore:no-transaction` (or "
                + "from maintenance, outside migrations).",
            marking: ["REINDEX"], at: statement)
    }

    /// The name PostgreSQL gives an unnamed index: `table_col1_col2_idx` (`_key` for a unique one
    /// is not used by CREATE INDEX), as the linter can tell it from the column list.
    static func defaultIndexName(_ tokens: SkeletonTokens, table: String, after start: Int) -> String {
        var index = start
        if tokens.isWord(index, "USING") { index += 2 }
        guard let end = tokens.closingParenthesis(from: index) else { return "\(table)_idx" }
        let columns = tokens.splitByCommas(index + 1..<end - 1).map { part in
            part.count >= 1 ? tokens[part.lowerBound]?.identifier ?? "expr" : "expr"
        }
        return "\(table)_\(columns.joined(separator: "_"))_idx"
    }

    /// `sql`, a CREATE INDEX, on one line with CONCURRENTLY after INDEX (and `name`, for an
    /// unnamed index), without IF NOT EXISTS: the build a no-transaction migration should run.
    static func concurrentIndex(_ sql: String, name: String?) -> String {
        let line = compact(sql)
        guard let match = line.firstMatch(of: /(?i)^(CREATE\s+(?:UNIQUE\s+)?INDEX)(?:\s+IF\s+NOT\s+EXISTS)?\s+/) else {
            return line
        }
        let rest = line[match.range.upperBound...]
        let named = name.map { "\($0) " } ?? ""
        return "\(match.1) CONCURRENTLY \(named)\(rest)"
    }
}
