/// Statements that lock or rewrite a whole table outright: TRUNCATE, VACUUM FULL, CLUSTER,
/// LOCK TABLE and REFRESH MATERIALIZED VIEW.
extension ScriptLinter {
    /// The relation names of a list starting at `index` (`a, ONLY b, c *`), up to the first
    /// token that is not part of one.
    func relationList(_ tokens: SkeletonTokens, from start: Int) -> [String] {
        var names: [String] = []
        var index = start
        while true {
            index = tokens.skipping(["ONLY"], at: index)
            guard let (name, next) = tokens.qualifiedName(at: index) else { break }
            names.append(name)
            index = tokens.isSymbol(next, "*") ? next + 1 : next
            guard tokens.isSymbol(index, ",") else { break }
            index += 1
        }
        return names
    }

    mutating func truncate(_ statement: LintStatement) {
        let tokens = statement.tokens
        let tables = relationList(tokens, from: tokens.skipping(["TABLE"], at: 1)).filter(isInUse)
        guard !tables.isEmpty else { return }
        let list = tables.joined(separator: ", ")
        let first = tables[0]
        let key = keyColumns(of: first)
        let instead = "Delete in batches, each its own transaction (a no-transaction migration or a job): `DELETE FROM "
            + "\(first) WHERE \(key) IN (SELECT \(key) FROM \(first) LIMIT 1000)`, repeated\(tables.count > 1 ? ", for each of \(list)" : "")"
            + "; if \(list) is truly unused and its rows disposable, acknowledge it."
        if tokens.containsTopLevel(["CASCADE"]) {
            flag(
                .truncate,
                "TRUNCATE \(list) CASCADE removes every row of \(list) and of every table with a foreign key to it, "
                    + "recursively, under ACCESS EXCLUSIVE on all of them, blocking their reads and writes until the "
                    + "migration commits",
                why: "TRUNCATE … CASCADE empties \(list) and every table with a foreign key to it, recursively, taking "
                    + "ACCESS EXCLUSIVE on each: their reads and writes wait until the migration commits, and the "
                    + "running application loses the rows of tables this statement does not name.",
                instead: instead, marking: ["CASCADE"], at: statement)
        } else {
            flag(
                .truncate,
                "TRUNCATE \(list) removes every row under ACCESS EXCLUSIVE, blocking reads and writes until the "
                    + "migration commits",
                why: "TRUNCATE takes ACCESS EXCLUSIVE on \(list): its reads and writes wait until the migration "
                    + "commits, and then every row the running application relies on is gone for good.",
                instead: instead, marking: ["TRUNCATE"], at: statement)
        }
    }

    /// VACUUM FULL (either syntax) and CLUSTER.
    mutating func tableRewrite(_ statement: LintStatement) {
        let tokens = statement.tokens
        var index = 1
        var full = false
        if let close = tokens.closingParenthesis(from: 1) {
            // VACUUM (FULL, ANALYZE) t; FULL may carry a boolean: FULL true, FULL false, FULL 0.
            for option in tokens.splitByCommas(2..<close - 1) where tokens.isWord(option.lowerBound, "FULL") {
                let value = tokens[option.lowerBound + 1]
                full = value == nil || !["FALSE", "OFF", "0"].contains(value?.text ?? "")
            }
            index = close
        }
        let isCluster = tokens.isWord(0, "CLUSTER")
        if !isCluster {
            if tokens.isWord(index, "FULL") { full = true }
            guard full else { return }
            while let word = tokens.word(at: index), ["FULL", "FREEZE", "VERBOSE", "ANALYZE"].contains(word) {
                index += 1
            }
        } else {
            index = tokens.skipping(["VERBOSE"], at: index)
        }
        let tables = relationList(tokens, from: index)
        // With no table, VACUUM FULL and CLUSTER process every table in the database.
        guard tables.isEmpty || tables.contains(where: isExisting) else { return }
        let what = isCluster ? "CLUSTER" : "VACUUM FULL"
        let target = tables.isEmpty ? "every table of the database" : tables.joined(separator: ", ")
        flag(
            .tableRewrite,
            "\(what) rewrites \(target) under ACCESS EXCLUSIVE, blocking reads and writes until it ends",
            why: "\(what) writes a new copy of \(target) and its indexes (a new relfilenode) while holding ACCESS "
                + "EXCLUSIVE: no reads or writes until it ends, and room for both copies meanwhile.",
            instead: tables.isEmpty
                ? "Leave \(what) out of migrations; rebuild bloated tables one at a time with pg_repack (or "
                    + "pg_squeeze), which takes only brief locks, as maintenance."
                : "Rebuild \(target) with pg_repack (or pg_squeeze), which takes only brief locks, as maintenance outside "
                    + "migrations; a plain `VACUUM \(target)` needs no exclusive lock.",
            marking: [what], at: statement)
    }

    /// Lock modes that let ordinary INSERT, UPDATE and DELETE go on.
    static let writeCompatibleLockModes: [[String]] = [
        ["ACCESS", "SHARE"], ["ROW", "SHARE"], ["ROW", "EXCLUSIVE"], ["SHARE", "UPDATE", "EXCLUSIVE"],
    ]

    mutating func lockTable(_ statement: LintStatement) {
        let tokens = statement.tokens
        let tables = relationList(tokens, from: tokens.skipping(["TABLE"], at: 1)).filter(isExisting)
        guard !tables.isEmpty else { return }
        var mode = "ACCESS EXCLUSIVE"
        if let inIndex = tokens.firstTopLevel(["IN"]), let modeIndex = tokens.firstTopLevel(["MODE"]),
            modeIndex > inIndex + 1
        {
            let words = (inIndex + 1..<modeIndex).compactMap { tokens.word(at: $0) }
            if Self.writeCompatibleLockModes.contains(words) { return }
            mode = words.joined(separator: " ")
        }
        let blocks = mode == "ACCESS EXCLUSIVE" ? "reads and writes" : "writes"
        let list = tables.joined(separator: ", ")
        flag(
            .lockTable,
            "LOCK \(list) IN \(mode) MODE blocks \(blocks) until the migration commits",
            why: "LOCK \(list) IN \(mode) MODE blocks the \(blocks) of \(list) until the migration commits, and "
                + "every later query of \(list) queues behind it.",
            instead: "Drop the LOCK and let each statement take the lock it needs (the runner sets lock_timeout); to "
                + "keep writers off rows of \(tables[0]) during a backfill, lock them in small batches (`SELECT … FROM "
                + "\(tables[0]) WHERE … LIMIT 1000 FOR UPDATE`).",
            marking: ["LOCK TABLE", "LOCK"], at: statement)
    }

    mutating func refresh(_ statement: LintStatement) {
        let tokens = statement.tokens
        guard tokens.matches(["REFRESH", "MATERIALIZED", "VIEW"], at: 0), !tokens.isWord(3, "CONCURRENTLY"),
            let name = tokens.qualifiedName(at: 3)?.name, isExisting(name)
        else { return }
        flag(
            .refreshWithoutConcurrently,
            "REFRESH MATERIALIZED VIEW \(name) without CONCURRENTLY takes ACCESS EXCLUSIVE on it: its readers wait "
                + "until the refresh and the migration end",
            why: "REFRESH MATERIALIZED VIEW \(name) takes ACCESS EXCLUSIVE on \(name): every query of it waits until "
                + "the refresh and the migration end.",
            instead: "Give \(name) a unique index (`CREATE UNIQUE INDEX CONCURRENTLY … ON \(name) (…)`) and run `REFRESH "
                + "MATERIALIZED VIEW CONCURRENTLY \(name)` from a job or a migration marked `-- sqlstore:no-transaction`.",
            marking: ["REFRESH MATERIALIZED VIEW"], at: statement)
    }
}
