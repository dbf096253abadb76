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
        if isDown, !ifNotExists, !droppedIfExists.contains("\(table).\(column)") {
            flag(
                .nonIdempotentDown,
                "ADD COLUMN \(column) fails if \(table) already has it: write ADD COLUMN IF NOT EXISTS", at: statement)
        }
        guard isExisting(table) else { return }
        if buildsIndex {
            flag(
                .indexWithoutConcurrently,
                "ADD COLUMN \(column) … UNIQUE/PRIMARY KEY builds an index on \(table) under ACCESS EXCLUSIVE: add the "
                    + "column, build a unique index CONCURRENTLY, then ADD CONSTRAINT … USING INDEX", at: statement)
        }
        let constraints = typeEnd..<definition.upperBound
        let isSerial = tokens.word(at: definition.lowerBound).map(Self.serialTypes.contains) == true
        if tokens.containsTopLevel(["NOT", "NULL"], in: constraints), !isSerial,
            !tokens.containsTopLevel(["DEFAULT"], in: constraints), !tokens.containsTopLevel(["GENERATED"], in: constraints)
        {
            flag(
                .notNullWithoutDefault,
                "ADD COLUMN \(column) … NOT NULL without a default fails (SQLSTATE 23502) once \(table) has a row: "
                    + "give it a constant default, or add it nullable and backfill before SET NOT NULL", at: statement)
        }
        var rewrite: String?
        if let type = tokens.word(at: definition.lowerBound), Self.serialTypes.contains(type),
            typeEnd == definition.lowerBound + 1
        {
            rewrite = "its \(type) type fills every row from a sequence"
        } else if tokens.containsTopLevel(["AS", "IDENTITY"], in: constraints) {
            rewrite = "an identity column fills every row from a sequence"
        } else if tokens.containsTopLevel(["GENERATED"], in: constraints),
            tokens.containsTopLevel(["STORED"], in: constraints)
        {
            rewrite = "a stored generated column is computed for every row"
        } else if let defaultIndex = tokens.firstTopLevel(["DEFAULT"], in: constraints),
            let function = (defaultIndex + 1..<constraints.upperBound).first(where: { index in
                guard let word = tokens.word(at: index), tokens.isSymbol(index + 1, "(") else { return false }
                return Self.volatileFunctions.contains(word) || schema.functionVolatility[word.lowercased()] == "VOLATILE"
            }).flatMap({ tokens.word(at: $0) })
        {
            let declared = Self.volatileFunctions.contains(function) ? "" : " (declared so, or by default, in its CREATE FUNCTION)"
            rewrite = "its default \(function.lowercased())() is volatile\(declared), so it is evaluated for every row"
        }
        if let rewrite {
            flag(
                .volatileDefault,
                "ADD COLUMN \(column) rewrites all of \(table) under ACCESS EXCLUSIVE: \(rewrite); add the column "
                    + "plainly, set the default for new rows, then backfill existing rows in batches", at: statement)
        }
    }
}
