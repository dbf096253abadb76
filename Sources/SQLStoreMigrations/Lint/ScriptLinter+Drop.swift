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
                    + "never drop a database from a migration",
                why: "While the application is connected to \(name) the drop fails (SQLSTATE 55006); WITH (FORCE) ends "
                    + "its sessions, and from then on its connections are refused (3D000) and every table of \(name) "
                    + "is gone.",
                instead: "Drop \(name) by hand, as an operation of its own, once no running version of the application "
                    + "connects to it; not from a migration.",
                marking: ["DROP DATABASE"], at: statement)
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
                why: "If \(first) is already gone (the down script ran before, failed midway, or was fixed by hand), "
                    + "DROP \(kind) \(first) fails and the rollback with it.",
                instead: "`DROP \(kind)\(concurrently ? " CONCURRENTLY" : "") IF EXISTS \(names.joined(separator: ", "))`.",
                marking: ["DROP \(kind)"], at: statement)
        }
        for name in names {
            switch kind {
            case "TABLE":
                if isInUse(name), let recreated = laterCreatesTable(name, after: statement) {
                    flag(
                        .breakingDrop,
                        "DROP TABLE \(name) and CREATE TABLE \(name) at line \(recreated) replace the table the running "
                            + "application uses: its rows are gone, and its queries wait for the migration, then fail on "
                            + "what changed",
                        why: "DROP TABLE \(name) takes ACCESS EXCLUSIVE, so every query of \(name) waits until the "
                            + "migration commits; then the application version still running finds a new, empty "
                            + "\(name): its prepared statements fail (SQLSTATE 0A000, cached plan must not change result "
                            + "type) and its queries of columns that changed fail (42703), and every row is gone.",
                        instead: "Expand and contract: `CREATE TABLE \(name)_new (…)` beside \(name); have the application "
                            + "write both; copy the rows in batches (`INSERT INTO \(name)_new SELECT … FROM \(name) WHERE "
                            + "\(keyColumns(of: name)) > $last ORDER BY \(keyColumns(of: name)) LIMIT 1000`); move readers to "
                            + "\(name)_new; drop \(name) in a later release, acknowledged with "
                            + "`-- sqlstore:lint-ignore=breaking-drop`.",
                        marking: ["DROP TABLE \(name)", "DROP TABLE"], at: statement)
                } else if isInUse(name) {
                    flag(
                        .breakingDrop,
                        "DROP TABLE \(name): the application version still running reads or writes \(name) and fails "
                            + "once this commits; stop using it in one release, drop it in a later one",
                        why: "The application version still running during the deploy queries \(name); from the moment "
                            + "this commits those queries fail (SQLSTATE 42P01), and until then they wait for its "
                            + "ACCESS EXCLUSIVE lock.",
                        instead: "Release N: deploy code that no longer reads or writes \(name). Release N+1: `DROP TABLE IF "
                            + "EXISTS \(name)` in a migration acknowledged with `-- sqlstore:lint-ignore=breaking-drop`.",
                        marking: ["DROP TABLE \(name)", "DROP TABLE"], at: statement)
                }
                schema.dropTable(name)
                createdTables.remove(name)
            case "SCHEMA":
                if !isDown, !createdSchemas.contains(name) {
                    flag(
                        .breakingDrop,
                        "DROP SCHEMA \(name) removes everything in it that the running application may use; stop "
                            + "using it in one release, drop it in a later one",
                        why: "The application version still running may query tables, functions or types of \(name); "
                            + "from the moment this commits those queries fail (SQLSTATE 42P01, 3F000).",
                        instead: "Release N: deploy code that no longer uses anything in \(name). Release N+1: `DROP "
                            + "SCHEMA IF EXISTS \(name)` in a migration acknowledged with "
                            + "`-- sqlstore:lint-ignore=breaking-drop`.",
                        marking: ["DROP SCHEMA"], at: statement)
                }
            case "FUNCTION":
                schema.functionVolatility[name] = nil
                schema.sqlFunctions.remove(name)
            case "INDEX":
                if !concurrently, let table = schema.indexes.first(where: { $0.name == name })?.table,
                    isExisting(table), !laterDropsTable(table, after: statement)
                {
                    flag(
                        .dropIndexWithoutConcurrently,
                        "DROP INDEX \(name) without CONCURRENTLY takes ACCESS EXCLUSIVE on \(table), blocking its reads "
                            + "and writes; use DROP INDEX CONCURRENTLY in a no-transaction migration",
                        why: "DROP INDEX \(name) takes ACCESS EXCLUSIVE on \(table): every SELECT, INSERT, UPDATE and "
                            + "DELETE of \(table) waits behind it, and it waits for every transaction already using "
                            + "\(table).",
                        instead: "In a migration of its own marked `-- sqlstore:no-transaction`: `DROP INDEX CONCURRENTLY "
                            + "IF EXISTS \(name)`.",
                        marking: ["DROP INDEX"], at: statement)
                }
                schema.dropIndex(name)
            default:
                break
            }
        }
    }

    /// The line of a later statement of this file that creates `table` again, if one does.
    func laterCreatesTable(_ table: String, after statement: LintStatement) -> Int? {
        script.statements.dropFirst(statement.position + 1).first { later in
            let tokens = SkeletonTokens(later.skeleton)
            guard tokens.isWord(0, "CREATE") else { return false }
            var index = 1
            while let word = tokens.word(at: index), ["GLOBAL", "LOCAL", "UNLOGGED"].contains(word) { index += 1 }
            guard tokens.isWord(index, "TABLE") else { return false }
            return tokens.qualifiedName(at: tokens.skipping(["IF", "NOT", "EXISTS"], at: index + 1))?.name == table
        }?.line
    }
}
