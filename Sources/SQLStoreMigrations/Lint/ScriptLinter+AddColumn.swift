/// ALTER TABLE … ADD COLUMN: volatile-default (a rewrite), not-null-without-default (fails on a
/// populated table), an inline UNIQUE/PRIMARY KEY (index-without-concurrently), and the
/// down-script rule.
extension ScriptLinter {
    static let volatileFunctions: Set<String> = [
        "RANDOM", "RANDOM_NORMAL", "GEN_RANDOM_UUID", "UUIDV4", "UUIDV7", "UUID_GENERATE_V1", "UUID_GENERATE_V1MC",
        "UUID_GENERATE_V4", "CLOCK_TIMESTAMP", "TIMEOFDAY", "NEXTVAL",
    ]
    static let serialTypes: Set<String> = ["SERIAL", "BIGSERIAL", "SMALLSERIAL", "SERIAL2", "SERIAL4", "SERIAL8"]

    /// `range` starts after ADD [COLUMN].
    mutating func addColumn(_ statement: LintStatement, _ range: Range<Int>, table: String) {
        let tokens = statement.tokens
        let ifNotExists = tokens.matches(["IF", "NOT", "EXISTS"], at: range.lowerBound)
        let nameIndex = ifNotExists ? range.lowerBound + 3 : range.lowerBound
        guard let column = tokens[nameIndex]?.identifier else { return }
        let definition = nameIndex + 1..<range.upperBound
        let (typeEnd, buildsIndex) = columnDefinition(statement, column: column, range: definition, table: table)
        let type = tokens.typeName(definition.lowerBound..<typeEnd).lowercased()
        if isDown, !ifNotExists, !droppedIfExists.contains("\(table).\(column)") {
            flag(
                .nonIdempotentDown,
                "ADD COLUMN \(column) fails if \(table) already has it: write ADD COLUMN IF NOT EXISTS",
                why: "If \(table) already has \(column) (the down script ran before, or was fixed by hand), "
                    + "ADD COLUMN \(column) fails and the rollback with it.",
                instead: "`ALTER TABLE \(table) ADD COLUMN IF NOT EXISTS \(column) \(type) …`.",
                marking: ["ADD COLUMN", "ADD"], at: statement)
        }
        guard isExisting(table) else { return }
        if buildsIndex {
            let kind = tokens.containsTopLevel(["PRIMARY", "KEY"], in: typeEnd..<definition.upperBound)
                ? "PRIMARY KEY" : "UNIQUE"
            let indexName = kind == "PRIMARY KEY" ? "\(table)_pkey" : "\(table)_\(column)_key"
            flag(
                .indexWithoutConcurrently,
                "ADD COLUMN \(column) … UNIQUE/PRIMARY KEY builds an index on \(table) under ACCESS EXCLUSIVE: add the "
                    + "column, build a unique index CONCURRENTLY, then ADD CONSTRAINT … USING INDEX",
                why: "The \(kind) index on \(table) (\(column)) is built while the ALTER TABLE holds ACCESS EXCLUSIVE on "
                    + "\(table): no reads or writes of \(table) until it ends and the migration commits.",
                instead: "`ALTER TABLE \(table) ADD COLUMN \(column) \(type)`; then, in a migration marked "
                    + "`-- sqlstore:no-transaction`, `DROP INDEX CONCURRENTLY IF EXISTS \(indexName); CREATE UNIQUE INDEX "
                    + "CONCURRENTLY \(indexName) ON \(table) (\(column))`; then `ALTER TABLE \(table) ADD CONSTRAINT "
                    + "\(indexName) \(kind) USING INDEX \(indexName)`.",
                marking: [kind], at: statement)
        }
        let constraints = typeEnd..<definition.upperBound
        let isSerial = tokens.word(at: definition.lowerBound).map(Self.serialTypes.contains) == true
        if tokens.containsTopLevel(["NOT", "NULL"], in: constraints), !isSerial,
            !tokens.containsTopLevel(["DEFAULT"], in: constraints), !tokens.containsTopLevel(["GENERATED"], in: constraints)
        {
            flag(
                .notNullWithoutDefault,
                "ADD COLUMN \(column) … NOT NULL without a default fails (SQLSTATE 23502) once \(table) has a row: "
                    + "give it a constant default, or add it nullable and backfill before SET NOT NULL",
                why: "The rows \(table) already has get no value for \(column), so PostgreSQL refuses the statement "
                    + "(SQLSTATE 23502) as soon as \(table) holds a row: it passes on an empty development database and "
                    + "fails in production.",
                instead: "`ALTER TABLE \(table) ADD COLUMN \(column) \(type) NOT NULL DEFAULT <constant>` (instant); or "
                    + "add \(column) nullable, backfill it in batches, then `ADD CONSTRAINT \(table)_\(column)_not_null "
                    + "CHECK (\(column) IS NOT NULL) NOT VALID`, validate it and `SET NOT NULL` in later migrations.",
                marking: ["NOT NULL"], at: statement)
        }
        let key = keyColumns(of: table)
        let backfill = "then backfill existing rows in batches, each its own transaction (a no-transaction migration or "
            + "a job): `UPDATE \(table) SET \(column) = … WHERE \(key) IN (SELECT \(key) FROM \(table) WHERE \(column) "
            + "IS NULL LIMIT 1000)`, repeated"
        var rewrite: (what: String, instead: String, clause: String)?
        if let serial = tokens.word(at: definition.lowerBound), Self.serialTypes.contains(serial),
            typeEnd == definition.lowerBound + 1
        {
            let integer = serial.hasPrefix("BIG") || serial == "SERIAL8" ? "bigint" : "integer"
            rewrite = (
                "its \(serial) type fills every row from a sequence",
                "`ALTER TABLE \(table) ADD COLUMN \(column) \(integer)`; `CREATE SEQUENCE \(table)_\(column)_seq OWNED BY "
                    + "\(table).\(column)`; `ALTER TABLE \(table) ALTER COLUMN \(column) SET DEFAULT "
                    + "nextval('\(table)_\(column)_seq')`; \(backfill.replacing("= …", with: "= nextval('\(table)_\(column)_seq')"))",
                serial
            )
        } else if tokens.containsTopLevel(["AS", "IDENTITY"], in: constraints) {
            rewrite = (
                "an identity column fills every row from a sequence",
                "`ALTER TABLE \(table) ADD COLUMN \(column) \(type)`; `CREATE SEQUENCE \(table)_\(column)_seq OWNED BY "
                    + "\(table).\(column)`; `ALTER TABLE \(table) ALTER COLUMN \(column) SET DEFAULT "
                    + "nextval('\(table)_\(column)_seq')`; \(backfill.replacing("= …", with: "= nextval('\(table)_\(column)_seq')"))",
                "IDENTITY"
            )
        } else if tokens.containsTopLevel(["GENERATED"], in: constraints),
            tokens.containsTopLevel(["STORED"], in: constraints)
        {
            rewrite = (
                "a stored generated column is computed for every row",
                "Compute \(column) in a plain column instead: `ALTER TABLE \(table) ADD COLUMN \(column) \(type)`, a "
                    + "trigger or the application writing it for new rows, \(backfill); or a view computing it on read",
                "STORED"
            )
        } else if let defaultIndex = tokens.firstTopLevel(["DEFAULT"], in: constraints) {
            let calls = defaultCalls(tokens, from: defaultIndex + 1, to: constraints.upperBound)
            let expression = Self.compact(defaultExpression(statement, after: defaultIndex, to: constraints.upperBound))
            if let volatile = calls.first(where: { isVolatile($0) == true }) {
                let declared =
                    schema.functionVolatility[volatile] != nil
                    ? " (declared so, or by default, in its CREATE FUNCTION)" : ""
                rewrite = (
                    "its default \(volatile)() is volatile\(declared), so it is evaluated for every row",
                    "`ALTER TABLE \(table) ADD COLUMN \(column) \(type)`; `ALTER TABLE \(table) ALTER COLUMN \(column) SET "
                        + "DEFAULT \(expression)` (new rows only); \(backfill.replacing("= …", with: "= \(expression)"))",
                    volatile
                )
            } else if let unknown = calls.first(where: { isVolatile($0) == nil }) {
                flag(
                    .volatileDefault,
                    "ADD COLUMN \(column) has a default calling \(unknown)(), which is neither built into PostgreSQL "
                        + "nor created by an earlier migration: lint cannot tell whether it rewrites all of \(table)",
                    why: "If \(unknown)() is VOLATILE (the default for CREATE FUNCTION), adding \(column) rewrites all of "
                        + "\(table) under ACCESS EXCLUSIVE, blocking its reads and writes; if it is STABLE or IMMUTABLE the "
                        + "default is computed once and the column is added instantly. Lint has not seen its definition.",
                    instead: "Create \(unknown)() in an earlier migration so lint reads its volatility, and declare it "
                        + "IMMUTABLE or STABLE if it is; or `ALTER TABLE \(table) ADD COLUMN \(column) \(type)`, then `ALTER "
                        + "TABLE \(table) ALTER COLUMN \(column) SET DEFAULT \(expression)`, \(backfill.replacing("= …", with: "= \(expression)")).",
                    severity: .warning, marking: [unknown], at: statement)
            }
        }
        if let rewrite {
            flag(
                .volatileDefault,
                "ADD COLUMN \(column) rewrites all of \(table) under ACCESS EXCLUSIVE: \(rewrite.what); add the column "
                    + "plainly, set the default for new rows, then backfill existing rows in batches",
                why: "Adding \(column) rewrites all of \(table) and its indexes under ACCESS EXCLUSIVE, because "
                    + "\(rewrite.what): no reads or writes of \(table) until the copy ends, and twice its size on disk "
                    + "meanwhile.",
                instead: rewrite.instead + ".", marking: [rewrite.clause], at: statement)
        }
    }

    /// Words that take parentheses in an expression without being functions in pg_proc.
    static let expressionKeywords: Set<String> = [
        "CAST", "COALESCE", "NULLIF", "GREATEST", "LEAST", "ROW", "ARRAY", "EXTRACT", "POSITION", "SUBSTRING", "TRIM",
        "OVERLAY", "EXISTS", "IN", "ANY", "ALL", "SOME", "NOT", "AND", "OR", "IS", "LIKE", "ILIKE", "SIMILAR", "BETWEEN",
        "CURRENT_TIMESTAMP", "CURRENT_TIME", "LOCALTIME", "LOCALTIMESTAMP", "VALUES", "SELECT", "FILTER", "OVER",
        "WITHIN", "COLLATE", "NORMALIZE", "TREAT", "CASE", "WHEN", "THEN", "ELSE", "END", "XMLCONCAT", "XMLELEMENT",
        "XMLEXISTS", "XMLFOREST", "XMLPARSE", "XMLPI", "XMLROOT", "XMLSERIALIZE", "XMLATTRIBUTES", "XMLAGG",
        "JSON_OBJECT", "JSON_ARRAY", "CHECK", "REFERENCES", "UNIQUE", "KEY", "GENERATED", "DEFAULT", "USING", "DECIMAL",
        "DEC", "FLOAT", "VARYING", "PRECISION", "CHARACTER", "NATIONAL", "NCHAR", "ZONE", "INTERVAL", "TIME", "TIMESTAMP",
    ]

    /// Words that end a column's DEFAULT expression at its top level.
    static let defaultEndWords: Set<String> = [
        "CONSTRAINT", "NOT", "NULL", "CHECK", "REFERENCES", "UNIQUE", "PRIMARY", "GENERATED", "COLLATE", "DEFERRABLE",
        "INITIALLY",
    ]

    /// Where the DEFAULT expression starting at `start` ends: before the next column constraint.
    func defaultEnd(_ tokens: SkeletonTokens, from start: Int, to end: Int) -> Int {
        var depth = 0
        for index in start..<end {
            if tokens.isSymbol(index, "(") { depth += 1 }
            if tokens.isSymbol(index, ")") { depth -= 1 }
            if depth == 0, index > start, let word = tokens.word(at: index), Self.defaultEndWords.contains(word) {
                return index
            }
        }
        return end
    }

    /// The functions a DEFAULT expression calls, lower-case, in order: names followed by `(`,
    /// other than the SQL keywords that take parentheses and type names after `::` or `AS`.
    func defaultCalls(_ tokens: SkeletonTokens, from start: Int, to end: Int) -> [String] {
        (start..<defaultEnd(tokens, from: start, to: end)).compactMap { index -> String? in
            guard let token = tokens[index], tokens.isSymbol(index + 1, "("),
                token.kind == .word || token.kind == .quotedIdentifier, let name = token.identifier
            else { return nil }
            if token.kind == .word, Self.expressionKeywords.contains(token.text) { return nil }
            // A type with a modifier: `'x'::varchar(10)`, `CAST(x AS numeric(10, 2))`, `pg_catalog.numeric(…)` after `::`.
            var before = index - 1
            while tokens.isSymbol(before, "."), tokens[before - 1]?.identifier != nil { before -= 2 }
            if tokens.isWord(before, "AS") || (tokens.isSymbol(before, ":") && tokens.isSymbol(before - 1, ":")) {
                return nil
            }
            return name
        }
    }

    /// The DEFAULT expression as written (its literals included), from the statement's source
    /// text: the DEFAULT keyword that is the same one as the skeleton's at `defaultIndex`, up to the
    /// next top-level comma, semicolon or column-constraint keyword. The skeleton's text (with
    /// `'?'` for literals) when the source cannot be matched up.
    func defaultExpression(_ statement: LintStatement, after defaultIndex: Int, to end: Int) -> String {
        let tokens = statement.tokens
        let skeleton = (defaultIndex + 1..<defaultEnd(tokens, from: defaultIndex + 1, to: end))
            .compactMap { tokens[$0]?.text }.joined(separator: " ")
        let occurrence = (0..<defaultIndex).filter { tokens.isWord($0, "DEFAULT") }.count
        let source = Array(statement.source.text)
        let starts = Self.keywordStarts("DEFAULT", in: source)
        guard starts.count == (0..<tokens.count).filter({ tokens.isWord($0, "DEFAULT") }).count,
            occurrence < starts.count
        else { return skeleton }
        var index = starts[occurrence] + "DEFAULT".count
        var depth = 0
        var expression = ""
        while index < source.count {
            let character = source[index]
            if character == "'" || character == "\"" {
                // A string or quoted identifier, copied whole ('' and "" inside it included).
                let stop = SourceText.endOfQuoted(source, openingAt: index)
                expression += String(source[index..<stop])
                index = stop
                continue
            }
            if character == "-", index + 1 < source.count, source[index + 1] == "-" { break }
            if character == "(" { depth += 1 }
            if character == ")" {
                if depth == 0 { break }
                depth -= 1
            }
            if depth == 0, character == "," || character == ";" { break }
            if depth == 0, character.isLetter, index == 0 || !SourceText.isWordCharacter(source[index - 1]) {
                var wordEnd = index
                while wordEnd < source.count, SourceText.isWordCharacter(source[wordEnd]) { wordEnd += 1 }
                if Self.defaultEndWords.contains(String(source[index..<wordEnd]).uppercased()) { break }
            }
            expression.append(character)
            index += 1
        }
        let trimmed = expression.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return trimmed.isEmpty ? skeleton : trimmed
    }

    /// Where `keyword` starts as a whole word in `source`, outside strings, quoted identifiers
    /// and comments.
    static func keywordStarts(_ keyword: String, in source: [Character]) -> [Int] {
        let wanted = keyword.uppercased()
        var starts: [Int] = []
        var index = 0
        while index < source.count {
            let character = source[index]
            if character == "'" || character == "\"" {
                index = SourceText.endOfQuoted(source, openingAt: index)
            } else if character == "-", index + 1 < source.count, source[index + 1] == "-" {
                while index < source.count, !source[index].isNewline { index += 1 }
            } else if character == "/", index + 1 < source.count, source[index + 1] == "*" {
                index += 2
                while index + 1 < source.count, !(source[index] == "*" && source[index + 1] == "/") { index += 1 }
                index += 2
            } else if SourceText.isWordCharacter(character) {
                var end = index
                while end < source.count, SourceText.isWordCharacter(source[end]) { end += 1 }
                if end - index == wanted.count, String(source[index..<end]).uppercased() == wanted {
                    starts.append(index)
                }
                index = end
            } else {
                index += 1
            }
        }
        return starts
    }

    /// True for a volatile function, false for a stable or immutable one, nil when lint does not
    /// know it: neither built into PostgreSQL nor created by an earlier migration.
    func isVolatile(_ function: String) -> Bool? {
        if Self.volatileFunctions.contains(function.uppercased()) { return true }
        if let declared = schema.functionVolatility[function] { return declared == "VOLATILE" }
        // A LANGUAGE sql function may be inlined, and then its body decides: lint does not guess.
        if schema.sqlFunctions.contains(function) { return false }
        if let builtin = BuiltinFunctionVolatility.byName[function] { return builtin == "v" }
        return nil
    }
}
