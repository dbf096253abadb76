import Foundation

/// Reading each layout into ``FoundMigration``s, with a problem per file it cannot read.
extension MigrationFormat {
    struct Reading {
        var found: [Int64: FoundMigration] = [:]
        var problems: [MigrationSourceError] = []

        mutating func add(
            _ script: FoundMigration.Script, as kind: MigrationSource.ScriptKind, version: Int64, name: String
        ) {
            var migration = found[version] ?? FoundMigration(version: version, name: name)
            guard migration.name == name else {
                problems.append(
                    MigrationSourceError(
                        file: script.fileName,
                        message: "version \(version) is used by two migrations: '\(migration.name)' and '\(name)'"))
                return
            }
            // Two files for one script (`001_a.up.sql` and `1_a.up.sql`, `V1__a.sql` and `V01__a.sql`,
            // `1_a.up.sql` and `1_a.postgres.up.sql`): which one would run is not for the reader to guess.
            let slot: WritableKeyPath<FoundMigration, FoundMigration.Script?> =
                switch kind {
                case .up: \.up
                case .down: \.down
                case .verify: \.verify
                }
            if let taken = migration[keyPath: slot] {
                problems.append(
                    MigrationSourceError(
                        file: script.fileName,
                        message: "version \(version) already has a\(kind == .up ? "n" : "") \(kind.rawValue) script, \(taken.fileName)"))
                return
            }
            migration[keyPath: slot] = script
            found[version] = migration
        }
    }

    func read(directory: URL) throws -> Reading {
        switch self {
        case .sqlstore, .golangMigrate: return try readUpDownFiles(directory)
        case .goose, .dbmate: return try readSectionedFiles(directory)
        case .flyway: return try readFlyway(directory)
        case .sqitch: return try readSqitch(directory)
        default: return try readFolderPerMigration(directory)
        }
    }

    // MARK: sqlstore and golang-migrate

    private static let otherDialects: Set<String> = ["mysql", "sqlite", "sqlite3", "cockroach", "mssql", "sqlserver"]

    private func readUpDownFiles(_ directory: URL) throws -> Reading {
        var reading = Reading()
        for fileName in try sqlFiles(directory) {
            if self == .sqlstore {
                guard let parsed = MigrationSource.parse(fileName: fileName) else {
                    reading.problems.append(MigrationSource.nameProblem(fileName))
                    continue
                }
                if let sql = try readText(directory, fileName, into: &reading) {
                    reading.add(.init(fileName: fileName, sql: sql), as: parsed.kind, version: parsed.version, name: parsed.name)
                }
                continue
            }
            // golang-migrate: ^([0-9]+)_(.*)\.(down|up)\.(.*)$ — any name; `name.postgres.up.sql` is a dialect file.
            let kind: MigrationSource.ScriptKind
            if fileName.hasSuffix(".up.sql") { kind = .up } else if fileName.hasSuffix(".down.sql") { kind = .down } else {
                reading.problems.append(
                    MigrationSourceError(file: fileName, message: "no .up.sql or .down.sql suffix (golang-migrate names are N_name.up.sql)"))
                continue
            }
            var stem = fileName.dropLast(kind == .up ? ".up.sql".count : ".down.sql".count)
            if let dot = stem.lastIndex(of: ".") {
                let dialect = stem[stem.index(after: dot)...].lowercased()
                if Self.otherDialects.contains(dialect) { continue }
                if dialect == "postgres" || dialect == "postgresql" || dialect == "pg" { stem = stem[..<dot] }
            }
            guard let underscore = stem.firstIndex(of: "_") else {
                reading.problems.append(MigrationSourceError(file: fileName, message: "no _ between the version and the name"))
                continue
            }
            switch parseVersion(stem[..<underscore], file: fileName) {
            case .failure(let problem): reading.problems.append(problem)
            case .success(let version):
                guard let sql = try readText(directory, fileName, into: &reading) else { continue }
                reading.add(
                    .init(fileName: fileName, sql: sql, noTransactionWhenNeeded: true), as: kind, version: version,
                    name: String(stem[stem.index(after: underscore)...]))
            }
        }
        return reading
    }

    // MARK: goose and dbmate

    /// One file per migration, split into up and down sections by marker comments. Each
    /// section keeps the file's line numbers (the other lines are left empty), so messages
    /// point at the file's own lines.
    private func readSectionedFiles(_ directory: URL) throws -> Reading {
        var reading = Reading()
        if self == .goose {
            // goose also runs migrations written in Go; skipping one silently would apply the
            // migrations around it as if it had run.
            for fileName in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            where fileName.hasSuffix(".go") && !fileName.hasSuffix("_test.go")
                && fileName.first?.isASCII == true && fileName.first?.isNumber == true
            {
                reading.problems.append(
                    MigrationSourceError(
                        file: fileName,
                        message: "a goose migration in Go: SQLStore runs SQL files only; rewrite it as SQL, or apply it "
                            + "with goose and adopt the history (docs/migrations.md, adopting)"))
            }
        }
        for fileName in try sqlFiles(directory) {
            guard let underscore = fileName.firstIndex(of: "_") else {
                reading.problems.append(MigrationSourceError(file: fileName, message: "the name is not N_name.sql"))
                continue
            }
            let version: Int64
            switch parseVersion(fileName[..<underscore], file: fileName) {
            case .failure(let problem):
                reading.problems.append(problem)
                continue
            case .success(let parsed): version = parsed
            }
            guard let text = try readText(directory, fileName, into: &reading) else { continue }
            let name = String(fileName[fileName.index(after: underscore)...].dropLast(".sql".count))
            let sections = self == .goose ? gooseSections(text) : dbmateSections(text)
            guard let up = sections.up else {
                let marker = self == .goose ? "-- +goose Up" : "-- migrate:up"
                reading.problems.append(MigrationSourceError(file: fileName, message: "no '\(marker)' section"))
                continue
            }
            reading.add(
                .init(fileName: fileName, sql: up.sql, noTransaction: up.noTransaction, earlierSQL: up.earlierSQL), as: .up,
                version: version, name: name)
            if let down = sections.down, !down.isEmpty {
                reading.add(
                    .init(fileName: fileName, sql: down.sql, noTransaction: down.noTransaction, earlierSQL: down.earlierSQL),
                    as: .down, version: version, name: name)
            }
        }
        return reading
    }

    struct Section {
        var sql: String
        var noTransaction: Bool
        /// The text with the empty lines that stood for the rest of the file after it, as earlier
        /// versions of SQLStore read it (its checksum is still accepted).
        var earlierSQL: String?
        var isEmpty: Bool { sql.allSatisfy { $0.isWhitespace } }
    }

    private func sections(
        _ text: String, marker: (String) -> (kind: MigrationSource.ScriptKind, noTransaction: Bool)?
    ) -> (up: Section?, down: Section?) {
        let lines = text.sourceLines
        var current: MigrationSource.ScriptKind?
        var kept: [MigrationSource.ScriptKind: [String]] = [:]
        var noTransaction: [MigrationSource.ScriptKind: Bool] = [:]
        var sawUp = false, sawDown = false
        for line in lines {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let found = marker(trimmed) {
                current = found.kind
                if found.kind == .up { sawUp = true } else { sawDown = true }
                if found.noTransaction { noTransaction[found.kind] = true }
            }
            for kind in [MigrationSource.ScriptKind.up, .down] {
                kept[kind, default: []].append(current == kind && marker(trimmed) == nil ? String(line) : "")
            }
        }
        func section(_ kind: MigrationSource.ScriptKind) -> Section {
            let lines = kept[kind, default: []]
            // The empty lines that stand for the rest of the file keep the line numbers of what
            // comes before; after the section's last line they only made its checksum depend on
            // the other section's length, so they go.
            var end = lines.endIndex
            while end > lines.startIndex, lines[end - 1].allSatisfy(\.isWhitespace) { end -= 1 }
            let sql = lines[..<end].joined(separator: "\n")
            let earlier = lines.joined(separator: "\n")
            return Section(sql: sql, noTransaction: noTransaction[kind] ?? false, earlierSQL: earlier == sql ? nil : earlier)
        }
        return (sawUp ? section(.up) : nil, sawDown ? section(.down) : nil)
    }

    /// goose: `-- +goose Up`, `-- +goose Down`; `-- +goose NO TRANSACTION` anywhere applies to
    /// both. `StatementBegin`/`StatementEnd` need nothing: the lexer keeps bodies whole.
    private func gooseSections(_ text: String) -> (up: Section?, down: Section?) {
        let noTransaction = text.sourceLines.contains {
            $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: " ", with: "").lowercased()
                == "--+goosenotransaction"
        }
        var result = sections(text) { line in
            let compact = line.replacingOccurrences(of: " ", with: "").lowercased()
            if compact == "--+gooseup" { return (.up, false) }
            if compact == "--+goosedown" { return (.down, false) }
            return nil
        }
        if noTransaction {
            result.up?.noTransaction = true
            result.down?.noTransaction = true
        }
        return result
    }

    /// dbmate: `-- migrate:up` and `-- migrate:down`, each optionally with `transaction:false`.
    private func dbmateSections(_ text: String) -> (up: Section?, down: Section?) {
        sections(text) { line in
            let lower = line.lowercased()
            guard lower.hasPrefix("--") else { return nil }
            let words = lower.dropFirst(2).split(separator: " ")
            guard let first = words.first else { return nil }
            let noTransaction = words.dropFirst().contains("transaction:false")
            if first == "migrate:up" { return (.up, noTransaction) }
            if first == "migrate:down" { return (.down, noTransaction) }
            return nil
        }
    }

    // MARK: Flyway

    private func readFlyway(_ directory: URL) throws -> Reading {
        var reading = Reading()
        for fileName in try sqlFiles(directory) {
            guard let flyway = FlywayName(fileName) else {
                reading.problems.append(
                    MigrationSourceError(file: fileName, message: "not a Flyway name (V1__name.sql or U1__name.sql)"))
                continue
            }
            if flyway.prefix == "R" {
                reading.problems.append(
                    MigrationSourceError(
                        file: fileName, message: "repeatable migrations (R__) are not supported: make it a versioned one"))
                continue
            }
            guard flyway.version.allSatisfy(\.isNumber) else {
                reading.problems.append(
                    MigrationSourceError(
                        file: fileName,
                        message: "version \(flyway.version) has parts (1.1 or 1_1); only whole-number versions are read"))
                continue
            }
            let version: Int64
            switch parseVersion(flyway.version, file: fileName) {
            case .failure(let problem):
                reading.problems.append(problem)
                continue
            case .success(let parsed): version = parsed
            }
            guard let sql = try readText(directory, fileName, into: &reading) else { continue }
            let conf = (try? String(contentsOf: directory.appendingPathComponent(fileName + ".conf"), encoding: .utf8)) ?? ""
            let noTransaction = conf.sourceLines.contains {
                $0.replacingOccurrences(of: " ", with: "").lowercased() == "executeintransaction=false"
            }
            reading.add(
                .init(fileName: fileName, sql: sql, noTransaction: noTransaction, noTransactionWhenNeeded: true),
                as: flyway.prefix == "V" ? .up : .down,
                version: version, name: String(flyway.description))
        }
        return reading
    }

    // MARK: sqitch

    /// `sqitch.plan` gives the order (a change's version is its position in the plan); the
    /// scripts are `deploy/<change>.sql`, `revert/<change>.sql` and `verify/<change>.sql`.
    private func readSqitch(_ directory: URL) throws -> Reading {
        var reading = Reading()
        let plan = try String(contentsOf: directory.appendingPathComponent("sqitch.plan"), encoding: .utf8)
        var position: Int64 = 0
        for (index, rawLine) in plan.sourceLines.enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            guard let first = line.first, !"%@#".contains(first) else { continue }
            guard var change = line.split(separator: " ").first.map(String.init) else { continue }
            if change.hasPrefix("+") { change.removeFirst() }
            if change.hasPrefix("-") || line.split(separator: " ").dropFirst().first?.contains("@") == true {
                reading.problems.append(
                    MigrationSourceError(
                        file: "sqitch.plan", line: index + 1,
                        message: "'\(change)': reverted or reworked changes in the plan are not supported"))
                continue
            }
            position += 1
            for (folder, kind) in [("deploy", MigrationSource.ScriptKind.up), ("revert", .down), ("verify", .verify)] {
                let file = "\(folder)/\(change).sql"
                guard FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path) else {
                    if kind == .up {
                        reading.problems.append(
                            MigrationSourceError(file: file, message: "the plan names change '\(change)', and its deploy script is missing"))
                    }
                    continue
                }
                guard let sql = try readText(directory, file, into: &reading) else { continue }
                reading.add(
                    .init(fileName: file, sql: sql, noTransactionWhenNeeded: kind != .verify), as: kind,
                    version: position, name: change)
            }
        }
        return reading
    }

    // MARK: diesel

    /// `<version>_<name>/up.sql` and `down.sql`; the version is the digits of the folder name's
    /// first part (`2019-02-05-123456` → 20190205123456); `metadata.toml` may say
    /// `run_in_transaction = false`.
    private func readFolderPerMigration(_ directory: URL) throws -> Reading {
        var reading = Reading()
        let fileManager = FileManager.default
        for entry in try fileManager.contentsOfDirectory(atPath: directory.path).sorted() {
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: directory.appendingPathComponent(entry).path, isDirectory: &isDirectory),
                isDirectory.boolValue, !entry.hasPrefix(".")
            else {
                if entry.hasSuffix(".sql") {
                    reading.problems.append(
                        MigrationSourceError(file: entry, message: "a .sql file outside a migration's folder (<version>_name/up.sql)"))
                }
                continue
            }
            let folder = directory.appendingPathComponent(entry)
            guard fileManager.fileExists(atPath: folder.appendingPathComponent("up.sql").path) else {
                reading.problems.append(MigrationSourceError(file: entry + "/", message: "a folder without up.sql"))
                continue
            }
            guard let underscore = entry.firstIndex(of: "_") else {
                reading.problems.append(MigrationSourceError(file: entry + "/", message: "the folder is not named <version>_name"))
                continue
            }
            let digits = entry[..<underscore].filter { $0 != "-" }
            let version: Int64
            switch parseVersion(Substring(digits), file: entry + "/") {
            case .failure(let problem):
                reading.problems.append(problem)
                continue
            case .success(let parsed): version = parsed
            }
            let metadata = (try? String(contentsOf: folder.appendingPathComponent("metadata.toml"), encoding: .utf8)) ?? ""
            let noTransaction = metadata.sourceLines.contains {
                $0.replacingOccurrences(of: " ", with: "").lowercased() == "run_in_transaction=false"
            }
            let name = String(entry[entry.index(after: underscore)...])
            for (file, kind) in [("up.sql", MigrationSource.ScriptKind.up), ("down.sql", .down)] {
                let path = "\(entry)/\(file)"
                guard fileManager.fileExists(atPath: directory.appendingPathComponent(path).path),
                    let sql = try readText(directory, path, into: &reading)
                else { continue }
                if kind == .down && sql.allSatisfy(\.isWhitespace) { continue }
                reading.add(.init(fileName: path, sql: sql, noTransaction: noTransaction), as: kind, version: version, name: name)
            }
        }
        return reading
    }

    // MARK: Files

    private func sqlFiles(_ directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }.sorted()
    }

    private func readText(_ directory: URL, _ file: String, into reading: inout Reading) throws -> String? {
        let data = try Data(contentsOf: directory.appendingPathComponent(file))
        guard let text = String(data: data, encoding: .utf8) else {
            reading.problems.append(MigrationSourceError(file: file, message: "the file is not valid UTF-8"))
            return nil
        }
        return text
    }
}
