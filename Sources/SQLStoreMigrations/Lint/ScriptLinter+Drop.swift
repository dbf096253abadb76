/// DROP of tables, indexes, routines and other objects: the down-script rule and what the
/// schema model forgets.
extension ScriptLinter {
    mutating func drop(_ statement: LintStatement) {
        let tokens = statement.tokens
        var index = 1
        var kind = tokens.word(at: index) ?? ""
        if kind == "MATERIALIZED" || kind == "FOREIGN" {
            index += 1
            kind += " " + (tokens.word(at: index) ?? "")
        }
        let kinds: Set<String> = [
            "TABLE", "INDEX", "FUNCTION", "PROCEDURE", "ROUTINE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE",
            "SEQUENCE", "TYPE", "DOMAIN", "TRIGGER", "SCHEMA", "EXTENSION", "POLICY", "RULE", "AGGREGATE",
        ]
        if kind == "DATABASE", !isDown {
            let start = tokens.matches(["IF", "EXISTS"], at: index + 1) ? index + 3 : index + 1
            let name = tokens.qualifiedName(at: start)?.0 ?? "the database"
            flag(
                .breakingDrop,
                "DROP DATABASE \(name) removes every table in it: while the running application is connected the drop "
                    + "fails (55006), WITH (FORCE) ends its sessions, and then its connections are refused (3D000); "
                    + "never drop a database from a migration", at: statement)
        }
        guard kinds.contains(kind) else { return }
        index += 1
        let concurrently = kind == "INDEX" && tokens.isWord(index, "CONCURRENTLY")
        if concurrently { index += 1 }
        let ifExists = tokens.matches(["IF", "EXISTS"], at: index)
        if ifExists { index += 2 }
        var names: [String] = []
        while let (name, next) = tokens.qualifiedName(at: index) {
            names.append(name)
            index = tokens.closingParenthesis(from: next) ?? next
            guard tokens.isSymbol(index, ",") else { break }
            index += 1
        }
        if ifExists {
            droppedIfExists.formUnion(names)
        } else if isDown, let first = names.first {
            flag(
                .nonIdempotentDown, "DROP \(kind) \(first) fails if it is already gone: write DROP \(kind) IF EXISTS",
                at: statement)
        }
        for name in names {
            switch kind {
            case "TABLE":
                if isInUse(name) {
                    flag(
                        .breakingDrop,
                        "DROP TABLE \(name): the application version still running reads or writes \(name) and fails "
                            + "once this commits; stop using it in one release, drop it in a later one", at: statement)
                }
                schema.dropTable(name)
                createdTables.remove(name)
            case "SCHEMA":
                if !isDown, !createdSchemas.contains(name) {
                    flag(
                        .breakingDrop,
                        "DROP SCHEMA \(name) removes everything in it that the running application may use; stop "
                            + "using it in one release, drop it in a later one", at: statement)
                }
            case "FUNCTION":
                schema.functionVolatility[name] = nil
            case "INDEX":
                if !concurrently, let table = schema.indexes.first(where: { $0.name == name })?.table,
                    isExisting(table), !laterDropsTable(table, after: statement)
                {
                    flag(
                        .dropIndexWithoutConcurrently,
                        "DROP INDEX \(name) without CONCURRENTLY takes ACCESS EXCLUSIVE on \(table), blocking its reads "
                            + "and writes; use DROP INDEX CONCURRENTLY in a no-transaction migration", at: statement)
                }
                schema.dropIndex(name)
            default:
                break
            }
        }
    }
}
