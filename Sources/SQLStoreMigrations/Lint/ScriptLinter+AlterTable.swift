/// ALTER TABLE and its actions (constraints, SET NOT NULL, drops, renames), ALTER INDEX … RENAME
/// and ALTER FUNCTION. ADD COLUMN is in `ScriptLinter+AddColumn`, ALTER COLUMN … TYPE in
/// `ScriptLinter+ColumnType`.
extension ScriptLinter {
    mutating func alter(_ statement: LintStatement) {
        let tokens = statement.tokens
        switch tokens.word(at: 1) {
        case "TABLE":
            alterTable(statement)
        case "INDEX":
            let start = tokens.skipping(["IF", "EXISTS"], at: 2)
            if let (name, next) = tokens.qualifiedName(at: start), tokens.matches(["RENAME", "TO"], at: next),
                let newName = tokens[next + 2]?.identifier
            {
                schema.renameIndex(name, to: newName)
            }
        case "DOMAIN":
            alterDomain(statement)
        case "SCHEMA":
            if !isDown, let name = tokens[2]?.identifier, tokens.matches(["RENAME", "TO"], at: 3),
                !createdSchemas.contains(name)
            {
                let newName = tokens[5]?.identifier ?? "the new name"
                flag(
                    .breakingRename,
                    "renaming schema \(name): the running application's queries that name it fail once this commits",
                    why: "The application version still running names \(name) (in queries or its search_path); from "
                        + "the moment the rename to \(newName) commits, those queries fail (SQLSTATE 42P01, 3F000).",
                    instead: "Expand and contract: create \(newName) and its objects beside \(name) (or views in \(newName) "
                        + "over \(name)'s tables), move the code to \(newName), and drop \(name) in a later release.",
                    marking: ["RENAME TO", "RENAME"], at: statement)
            }
        case "TYPE":
            if let (name, next) = tokens.qualifiedName(at: 2), tokens.matches(["ADD", "VALUE"], at: next) {
                addEnumValue(statement, type: name)
            }
            if !isDown, let (name, next) = tokens.qualifiedName(at: 2), tokens.matches(["RENAME", "VALUE"], at: next) {
                let values = Self.renamedEnumValues(statement.source.text)
                let old = values.map { "'\($0.old)'" } ?? "the old value"
                let new = values.map { "'\($0.new)'" } ?? "the new value"
                flag(
                    .breakingRename,
                    "renaming a value of enum \(name): the running application still writes the old value, which "
                        + "now fails (SQLSTATE 22P02); add the new value, move code and rows to it, stop using the old",
                    why: "The application version still running writes and compares \(old); from the moment the rename "
                        + "commits, casting \(old) to \(name) fails (SQLSTATE 22P02, invalid input value for enum).",
                    instead: "`ALTER TYPE \(name) ADD VALUE IF NOT EXISTS \(new)`; deploy code that writes \(new) and reads "
                        + "both; `UPDATE` the rows from \(old) to \(new) in batches; stop using \(old) (an enum value "
                        + "cannot be dropped; a later migration can replace the type).",
                    marking: ["RENAME VALUE"], at: statement)
            }
        case "FUNCTION", "PROCEDURE", "ROUTINE":
            guard let name = tokens.qualifiedName(at: 2)?.name else { return }
            if tokens.isWord(1, "FUNCTION"), schema.functionVolatility[name] != nil, let volatility = Self.volatility(tokens) {
                schema.functionVolatility[name] = volatility
            }
            if tokens.contains(["SET", "SEARCH_PATH"]) {
                unpinnedDefiners.removeAll { $0.name == name }
            } else if tokens.contains(["SECURITY", "DEFINER"]) {
                unpinnedDefiners.append((name, statement))
            }
        default:
            break
        }
    }

    mutating func alterTable(_ statement: LintStatement) {
        let tokens = statement.tokens
        var index = tokens.skipping(["IF", "EXISTS"], at: 2)
        index = tokens.skipping(["ONLY"], at: index)
        guard let (table, next) = tokens.qualifiedName(at: index) else { return }
        index = tokens.isSymbol(next, "*") ? next + 1 : next
        guard index < tokens.count else { return }
        for action in tokens.splitByCommas(index..<tokens.count) where !action.isEmpty {
            alterTableAction(statement, action, table: table)
        }
    }

    mutating func alterTableAction(_ statement: LintStatement, _ range: Range<Int>, table: String) {
        let tokens = statement.tokens
        let start = range.lowerBound
        switch tokens.word(at: start) {
        case "ADD":
            var index = start + 1
            var name: String?
            if tokens.isWord(index, "CONSTRAINT") {
                name = tokens[index + 1]?.identifier
                index += 2
            }
            guard index < range.upperBound else { return }
            switch tokens.word(at: index) {
            case "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "EXCLUDE":
                addConstraint(statement, index..<range.upperBound, table: table, name: name)
            default:
                guard name == nil else { return }
                addColumn(statement, tokens.skipping(["COLUMN"], at: index)..<range.upperBound, table: table)
            }
        case "ALTER":
            let index = tokens.skipping(["COLUMN"], at: start + 1)
            guard let column = tokens[index]?.identifier else { return }
            if tokens.matches(["SET", "NOT", "NULL"], at: index + 1) {
                setNotNull(statement, table: table, column: column)
            } else if tokens.matches(["DROP", "NOT", "NULL"], at: index + 1), isInUse(table) {
                flag(
                    .dropNotNull,
                    "DROP NOT NULL on \(table).\(column): the application version still running reads \(column) "
                        + "as never NULL; deploy code that handles NULL first",
                    why: "From the moment this commits \(table).\(column) can hold NULL, and the application version "
                        + "still running, which decodes \(column) as never NULL, fails on such a row or misbehaves.",
                    instead: "First deploy code that reads \(table).\(column) as nullable; then `ALTER TABLE \(table) ALTER "
                        + "COLUMN \(column) DROP NOT NULL` in a later migration, acknowledged with "
                        + "`-- sqlstore:lint-ignore=drop-not-null`.",
                    marking: ["DROP NOT NULL"], at: statement)
            } else if tokens.isWord(index + 1, "TYPE") {
                changeType(statement, table: table, column: column, range: index + 2..<range.upperBound)
            } else if tokens.matches(["SET", "DATA", "TYPE"], at: index + 1) {
                changeType(statement, table: table, column: column, range: index + 4..<range.upperBound)
            }
        case "DROP":
            dropFromTable(statement, start + 1..<range.upperBound, table: table)
        case "VALIDATE" where tokens.isWord(start + 1, "CONSTRAINT"):
            guard let name = tokens[start + 2]?.identifier else { return }
            if script.directives.transactional, addedNotValid.contains(name) {
                flag(
                    .constraintWithoutNotValid,
                    "VALIDATE CONSTRAINT \(name) in the same transaction as its ADD … NOT VALID scans \(table) while "
                        + "still holding the lock the ADD took: validate in a later migration",
                    why: "The ADD CONSTRAINT \(name) … NOT VALID earlier in \(script.fileName) holds its lock on \(table) "
                        + "until the migration commits, so this scan of \(table) runs under it: NOT VALID gained nothing.",
                    instead: "Move `ALTER TABLE \(table) VALIDATE CONSTRAINT \(name)` to a later migration, where it scans "
                        + "under SHARE UPDATE EXCLUSIVE and reads and writes go on.",
                    marking: ["VALIDATE CONSTRAINT"], at: statement)
            }
            schema.notNullChecks[table]?[name]?.validated = true
        case "RENAME":
            rename(statement, start + 1..<range.upperBound, table: table)
        case "DETACH" where tokens.isWord(start + 1, "PARTITION"):
            let concurrent =
                tokens.containsTopLevel(["CONCURRENTLY"], in: range) || tokens.containsTopLevel(["FINALIZE"], in: range)
            if !concurrent, isExisting(table), let partition = tokens.qualifiedName(at: start + 2)?.name {
                flag(
                    .detachPartitionWithoutConcurrently,
                    "DETACH PARTITION \(partition) takes ACCESS EXCLUSIVE on \(table): every query of it waits until "
                        + "the migration commits; detach CONCURRENTLY in a no-transaction migration",
                    why: "DETACH PARTITION \(partition) takes ACCESS EXCLUSIVE on \(table): every query of \(table), "
                        + "whichever partition it reads, waits until the migration commits.",
                    instead: "In a migration of its own marked `-- sqlstore:no-transaction`: `ALTER TABLE \(table) DETACH "
                        + "PARTITION \(partition) CONCURRENTLY` (if it is interrupted, `… DETACH PARTITION \(partition) "
                        + "FINALIZE` completes it).",
                    marking: ["DETACH PARTITION"], at: statement)
            }
        case "SET" where tokens.isWord(start + 1, "UNLOGGED") || tokens.isWord(start + 1, "LOGGED"):
            if isExisting(table) {
                let what = tokens.word(at: start + 1) ?? "UNLOGGED"
                flag(
                    .setUnlogged,
                    "SET \(what) rewrites all of \(table) under ACCESS EXCLUSIVE, blocking its reads and writes "
                        + "until the migration commits",
                    why: "SET \(what) writes a new copy of \(table) (a new relfilenode) under ACCESS EXCLUSIVE: no reads "
                        + "or writes of \(table) until the copy ends and the migration commits"
                        + (what == "UNLOGGED" ? "; an unlogged \(table) is emptied after a crash and not replicated." : "."),
                    instead: "Create `CREATE \(what == "UNLOGGED" ? "UNLOGGED " : "")TABLE \(table)_new (LIKE \(table) INCLUDING "
                        + "ALL)`, copy the rows in batches and switch the application over; or accept the rewrite of "
                        + "\(table) in a maintenance window and acknowledge it.",
                    marking: ["SET \(what)"], at: statement)
            }
        default:
            break
        }
    }

    mutating func addConstraint(_ statement: LintStatement, _ range: Range<Int>, table: String, name: String?) {
        let tokens = statement.tokens
        let start = range.lowerBound
        let notValid = tokens.containsTopLevel(["NOT", "VALID"], in: range)
        if notValid, let name { addedNotValid.insert(name) }
        switch tokens.word(at: start) {
        case "PRIMARY", "UNIQUE":
            if tokens.containsTopLevel(["USING", "INDEX"], in: range) {
                // The index was built beforehand (CONCURRENTLY, one hopes) and becomes the constraint's.
                if let using = tokens.firstTopLevel(["USING", "INDEX"], in: range),
                    let indexName = tokens.qualifiedName(at: using + 2)?.name,
                    let position = schema.indexes.firstIndex(where: { $0.name == indexName })
                {
                    schema.indexes[position].constraint = tokens.isWord(start, "PRIMARY") ? .primaryKey : .unique
                    if let name { schema.indexes[position].name = name }
                }
                return
            }
            if isExisting(table) {
                let kind = tokens.isWord(start, "PRIMARY") ? "PRIMARY KEY" : "UNIQUE"
                let after = tokens.skipping(["NULLS", "DISTINCT"], at: tokens.skipping(["NULLS", "NOT", "DISTINCT"], at: kind == "PRIMARY KEY" ? start + 2 : start + 1))
                let columns = tokens.columnList(at: after)?.columns.map { $0 ?? "…" } ?? ["…"]
                let indexName = name ?? (kind == "PRIMARY KEY" ? "\(table)_pkey" : "\(table)_\(columns.joined(separator: "_"))_key")
                flag(
                    .indexWithoutConcurrently,
                    "ADD \(kind) builds its index under ACCESS "
                        + "EXCLUSIVE on \(table), blocking reads and writes; build a unique index CONCURRENTLY, then "
                        + "ADD CONSTRAINT … USING INDEX",
                    why: "ADD \(kind) builds the index of \(table) (\(columns.joined(separator: ", "))) while holding ACCESS "
                        + "EXCLUSIVE on \(table): no reads or writes of \(table) until the build ends and the migration "
                        + "commits.",
                    instead: "In a migration marked `-- sqlstore:no-transaction`: `DROP INDEX CONCURRENTLY IF EXISTS "
                        + "\(indexName); CREATE UNIQUE INDEX CONCURRENTLY \(indexName) ON \(table) "
                        + "(\(columns.joined(separator: ", ")))`; then `ALTER TABLE \(table) ADD CONSTRAINT \(indexName) \(kind) "
                        + "USING INDEX \(indexName)` (a brief lock).",
                    marking: [kind], at: statement)
            }
            tableConstraint(statement, range, table: table, name: name, notValid: false)
        case "CHECK":
            if isExisting(table) && !notValid {
                let constraint = name ?? "\(table)_check"
                flag(
                    .constraintWithoutNotValid,
                    "ADD CHECK checks every row of \(table) under ACCESS EXCLUSIVE: add it NOT VALID, validate later",
                    why: "ADD CHECK reads every row of \(table) to check it while holding ACCESS EXCLUSIVE on \(table): "
                        + "no reads or writes of \(table) until the scan ends and the migration commits.",
                    instead: "`ALTER TABLE \(table) ADD CONSTRAINT \(constraint) CHECK (…) NOT VALID` (brief lock; new rows "
                        + "are checked), then `ALTER TABLE \(table) VALIDATE CONSTRAINT \(constraint)` in a later migration "
                        + "(reads and writes go on).",
                    marking: ["CHECK"], at: statement)
            }
            tableConstraint(statement, range, table: table, name: name, notValid: notValid)
        case "EXCLUDE":
            if isExisting(table) {
                flag(
                    .exclusionConstraint,
                    "ADD EXCLUDE builds its index and checks every row of \(table) under ACCESS EXCLUSIVE, blocking "
                        + "reads and writes until it ends",
                    why: "ADD EXCLUDE builds its index on \(table) and checks every row under ACCESS EXCLUSIVE: no reads "
                        + "or writes of \(table) until it ends; there is no USING INDEX form to build it concurrently first.",
                    instead: "Declare the exclusion constraint when \(table) is created; on the live \(table), add it in a "
                        + "maintenance window and acknowledge it. If its only operator is `=`, `CREATE UNIQUE INDEX "
                        + "CONCURRENTLY … ON \(table) (…)` in a no-transaction migration enforces the same.",
                    marking: ["EXCLUDE"], at: statement)
            }
        case "FOREIGN":
            if isExisting(table) && !notValid {
                let columns = tokens.columnList(at: start + 2)?.columns.map { $0 ?? "…" } ?? []
                let referencesIndex = tokens.firstTopLevel(["REFERENCES"], in: range)
                let referenced = referencesIndex.flatMap { tokens.qualifiedName(at: $0 + 1)?.name } ?? "the referenced table"
                let constraint = name ?? "\(table)_\(columns.isEmpty ? "" : columns.joined(separator: "_") + "_")fkey"
                flag(
                    .constraintWithoutNotValid,
                    "ADD FOREIGN KEY checks every row of \(table) while blocking writes to it and to the referenced "
                        + "table: add it NOT VALID, validate later",
                    why: "ADD FOREIGN KEY checks every row of \(table) against \(referenced) while holding SHARE ROW "
                        + "EXCLUSIVE on both: no INSERT, UPDATE or DELETE of \(table) or \(referenced) until the scan ends "
                        + "and the migration commits.",
                    instead: "`ALTER TABLE \(table) ADD CONSTRAINT \(constraint) FOREIGN KEY (\(columns.joined(separator: ", "))) "
                        + "REFERENCES \(referenced) … NOT VALID` (brief lock), then `ALTER TABLE \(table) VALIDATE CONSTRAINT "
                        + "\(constraint)` in a later migration (reads and writes go on).",
                    marking: ["FOREIGN KEY"], at: statement)
            }
        default:
            break
        }
    }

    mutating func setNotNull(_ statement: LintStatement, table: String, column: String) {
        guard isExisting(table), !schema.hasValidatedNotNullCheck(on: table, column: column) else { return }
        let check = "\(table)_\(column)_not_null"
        flag(
            .setNotNull,
            "SET NOT NULL on \(table).\(column) scans the whole table under ACCESS EXCLUSIVE; first add "
                + "CHECK (\(column) IS NOT NULL) NOT VALID and validate it in an earlier migration",
            why: "SET NOT NULL reads every row of \(table) to check \(column) while holding ACCESS EXCLUSIVE on \(table): "
                + "no reads or writes of \(table) until the scan ends, because no validated CHECK (\(column) IS NOT "
                + "NULL) lets PostgreSQL skip it.",
            instead: "`ALTER TABLE \(table) ADD CONSTRAINT \(check) CHECK (\(column) IS NOT NULL) NOT VALID`; in a later "
                + "migration `ALTER TABLE \(table) VALIDATE CONSTRAINT \(check)`; then `ALTER TABLE \(table) ALTER COLUMN "
                + "\(column) SET NOT NULL` (no scan) and `ALTER TABLE \(table) DROP CONSTRAINT \(check)`.",
            marking: ["SET NOT NULL"], at: statement)
    }

    /// `range` starts after DROP.
    mutating func dropFromTable(_ statement: LintStatement, _ range: Range<Int>, table: String) {
        let tokens = statement.tokens
        var index = range.lowerBound
        let isConstraint = tokens.isWord(index, "CONSTRAINT")
        if isConstraint {
            index += 1
        } else {
            index = tokens.skipping(["COLUMN"], at: index)
        }
        let ifExists = tokens.matches(["IF", "EXISTS"], at: index)
        if ifExists { index += 2 }
        guard let name = tokens[index]?.identifier else { return }
        let kind = isConstraint ? "CONSTRAINT" : "COLUMN"
        if ifExists {
            droppedIfExists.insert(isConstraint ? name : "\(table).\(name)")
        } else if isDown {
            flag(
                .nonIdempotentDown,
                "DROP \(kind) \(name) fails if \(table) no longer has it: write DROP \(kind) IF EXISTS \(name)",
                why: "If \(table) no longer has \(name) (the down script ran before, failed midway, or was fixed by "
                    + "hand), DROP \(kind) \(name) fails and the rollback with it.",
                instead: "`ALTER TABLE \(table) DROP \(kind) IF EXISTS \(name)`.",
                marking: ["DROP \(kind)"], at: statement)
        }
        if isConstraint {
            schema.dropConstraint(name, on: table)
        } else {
            if isInUse(table) {
                flag(
                    .breakingDrop,
                    "DROP COLUMN \(table).\(name): the application version still running selects or inserts \(name) "
                        + "and fails once this commits; stop using it in one release, drop it in a later one",
                    why: "The application version still running during the deploy selects or inserts \(table).\(name); "
                        + "from the moment this commits those queries fail (SQLSTATE 42703), and until then they wait for "
                        + "its ACCESS EXCLUSIVE lock on \(table).",
                    instead: "Release N: deploy code that no longer reads or writes \(table).\(name) (if it is NOT NULL "
                        + "without a default, first `ALTER TABLE \(table) ALTER COLUMN \(name) DROP NOT NULL` so the old "
                        + "version's inserts keep working). Release N+1: `ALTER TABLE \(table) DROP COLUMN IF EXISTS "
                        + "\(name)`, acknowledged with `-- sqlstore:lint-ignore=breaking-drop`.",
                    marking: ["DROP COLUMN IF EXISTS \(name)", "DROP COLUMN \(name)", "DROP \(name)"], at: statement)
            }
            schema.dropColumn(name, on: table)
        }
    }

    /// `range` starts after RENAME.
    mutating func rename(_ statement: LintStatement, _ range: Range<Int>, table: String) {
        let tokens = statement.tokens
        let start = range.lowerBound
        if tokens.isWord(start, "TO"), let newName = tokens[start + 1]?.identifier {
            if isInUse(table) {
                flag(
                    .breakingRename,
                    "renaming table \(table) to \(newName): the application version still running queries \(table) "
                        + "and fails once this commits",
                    why: "The application version still running queries \(table); from the moment the rename to "
                        + "\(newName) commits those queries fail (SQLSTATE 42P01).",
                    instead: "Bridge the old name: `ALTER TABLE \(table) RENAME TO \(newName); CREATE VIEW \(table) AS SELECT * "
                        + "FROM \(newName)` in one migration, acknowledged with `-- sqlstore:lint-ignore=breaking-rename` (the "
                        + "old version's reads and writes go through the view); move the code to \(newName); `DROP VIEW "
                        + "IF EXISTS \(table)` in a later release.",
                    marking: ["RENAME TO"], at: statement)
            }
            schema.renameTable(table, to: newName)
            if createdTables.remove(table) != nil { createdTables.insert(newName) }
        } else if tokens.isWord(start, "CONSTRAINT"), let old = tokens[start + 1]?.identifier,
            tokens.isWord(start + 2, "TO"), let newName = tokens[start + 3]?.identifier
        {
            schema.renameConstraint(old, on: table, to: newName)
        } else {
            let index = tokens.skipping(["COLUMN"], at: start)
            if let old = tokens[index]?.identifier, tokens.isWord(index + 1, "TO"),
                let newName = tokens[index + 2]?.identifier
            {
                if isInUse(table) {
                    flag(
                        .breakingRename,
                        "renaming column \(table).\(old) to \(newName): the application version still running uses "
                            + "\(old) and fails once this commits",
                        why: "The application version still running selects and writes \(table).\(old); from the moment "
                            + "the rename to \(newName) commits those queries fail (SQLSTATE 42703).",
                        instead: "Expand and contract: `ALTER TABLE \(table) ADD COLUMN \(newName) …`; write both \(old) and "
                            + "\(newName); backfill \(newName) in batches; move readers to \(newName); drop \(old) in a later "
                            + "release.",
                        marking: ["RENAME COLUMN \(old)", "RENAME \(old)", "RENAME"], at: statement)
                }
                schema.renameColumn(old, on: table, to: newName)
            }
        }
    }

    /// The old and new value of `ALTER TYPE … RENAME VALUE 'old' TO 'new'`, as written between their quotes.
    static func renamedEnumValues(_ text: String) -> (old: String, new: String)? {
        let pattern = /(?i)RENAME\s+VALUE\s+'((?:[^']|'')*)'\s+TO\s+'((?:[^']|'')*)'/
        guard let match = text.firstMatch(of: pattern) else { return nil }
        return (String(match.1), String(match.2))
    }
}
