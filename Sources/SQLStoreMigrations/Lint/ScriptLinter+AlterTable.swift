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
                flag(
                    .breakingRename,
                    "renaming schema \(name): the running application's queries that name it fail once this commits",
                    at: statement)
            }
        case "TYPE":
            if let (name, next) = tokens.qualifiedName(at: 2), tokens.matches(["ADD", "VALUE"], at: next) {
                addEnumValue(statement, type: name)
            }
            if !isDown, let (name, next) = tokens.qualifiedName(at: 2), tokens.matches(["RENAME", "VALUE"], at: next) {
                flag(
                    .breakingRename,
                    "renaming a value of enum \(name): the running application still writes the old value, which "
                        + "now fails (SQLSTATE 22P02); add the new value, move code and rows to it, stop using the old",
                    at: statement)
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
                        + "as never NULL; deploy code that handles NULL first", at: statement)
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
                        + "still holding the lock the ADD took: validate in a later migration", at: statement)
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
                        + "the migration commits; detach CONCURRENTLY in a no-transaction migration", at: statement)
            }
        case "SET" where tokens.isWord(start + 1, "UNLOGGED") || tokens.isWord(start + 1, "LOGGED"):
            if isExisting(table) {
                let what = tokens.word(at: start + 1) ?? "UNLOGGED"
                flag(
                    .setUnlogged,
                    "SET \(what) rewrites all of \(table) under ACCESS EXCLUSIVE, blocking its reads and writes "
                        + "until the migration commits", at: statement)
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
                flag(
                    .indexWithoutConcurrently,
                    "ADD \(tokens.isWord(start, "PRIMARY") ? "PRIMARY KEY" : "UNIQUE") builds its index under ACCESS "
                        + "EXCLUSIVE on \(table), blocking reads and writes; build a unique index CONCURRENTLY, then "
                        + "ADD CONSTRAINT … USING INDEX", at: statement)
            }
            tableConstraint(statement, range, table: table, name: name, notValid: false)
        case "CHECK":
            if isExisting(table) && !notValid {
                flag(
                    .constraintWithoutNotValid,
                    "ADD CHECK checks every row of \(table) under ACCESS EXCLUSIVE: add it NOT VALID, validate later",
                    at: statement)
            }
            tableConstraint(statement, range, table: table, name: name, notValid: notValid)
        case "EXCLUDE":
            if isExisting(table) {
                flag(
                    .exclusionConstraint,
                    "ADD EXCLUDE builds its index and checks every row of \(table) under ACCESS EXCLUSIVE, blocking "
                        + "reads and writes until it ends", at: statement)
            }
        case "FOREIGN":
            if isExisting(table) && !notValid {
                flag(
                    .constraintWithoutNotValid,
                    "ADD FOREIGN KEY checks every row of \(table) while blocking writes to it and to the referenced "
                        + "table: add it NOT VALID, validate later", at: statement)
            }
        default:
            break
        }
    }

    mutating func setNotNull(_ statement: LintStatement, table: String, column: String) {
        guard isExisting(table), !schema.hasValidatedNotNullCheck(on: table, column: column) else { return }
        flag(
            .setNotNull,
            "SET NOT NULL on \(table).\(column) scans the whole table under ACCESS EXCLUSIVE; first add "
                + "CHECK (\(column) IS NOT NULL) NOT VALID and validate it in an earlier migration", at: statement)
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
                at: statement)
        }
        if isConstraint {
            schema.dropConstraint(name, on: table)
        } else {
            if isInUse(table) {
                flag(
                    .breakingDrop,
                    "DROP COLUMN \(table).\(name): the application version still running selects or inserts \(name) "
                        + "and fails once this commits; stop using it in one release, drop it in a later one",
                    at: statement)
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
                        + "and fails once this commits", at: statement)
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
                            + "\(old) and fails once this commits", at: statement)
                }
                schema.renameColumn(old, on: table, to: newName)
            }
        }
    }
}
