public import Foundation

/// Reads migrations from a directory of `NNN_name.up.sql` / `NNN_name.down.sql` files, each
/// with an optional `NNN_name.verify.sql`.
public enum MigrationSource {
    /// The file the expected schema is kept in, beside the migrations (see ``SchemaSnapshot``).
    public static let snapshotFileName = "schema.snapshot"

    /// Loads and validates every migration in `directory`, ordered by version, detecting its
    /// layout (SQLStore's own or another tool's, see ``MigrationFormat``).
    ///
    /// - Throws: as ``load(directory:format:)``.
    public static func load(directory: URL) throws -> [Migration] {
        try load(directory: directory, format: nil)
    }

    /// Loads and validates every migration in `directory`, read as `format` (detected when nil),
    /// without renaming anything.
    ///
    /// - Throws: ``MigrationSourceError`` when the folder does not exist.
    ///   ``MigrationFolderError`` with code ``MigrationFolderError/Code/nothingRecognised`` when
    ///   nothing in it is a migration (it says what was expected and what was found), and
    ///   ``MigrationFolderError/Code/unreadableFiles`` listing, in one pass, every file that
    ///   cannot be used: a name it cannot read (each with its reason: version 0, a version beyond
    ///   2^63-1, a missing `.up`, …), two migrations with one version, a down or verify script
    ///   without its up script, invalid UTF-8, a script the lexer or directive parser rejects,
    ///   and every use of psql-only syntax (meta-commands, `:var`, `COPY … FROM stdin`). Other
    ///   files (a README, the schema snapshot) are ignored.
    public static func load(directory: URL, format: MigrationFormat?) throws -> [Migration] {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw MigrationSourceError(file: directory.path, message: "no such migrations directory")
        }
        guard let format = try format ?? MigrationFormat.detect(in: directory) else {
            throw try nothingRecognised(in: directory, format: nil)
        }
        let reading = try format.read(directory: directory)
        var problems = reading.problems
        var migrations: [Migration] = []
        for found in reading.found.values.sorted(by: { $0.version < $1.version }) {
            guard let up = found.up else {
                let orphan = found.down ?? found.verify
                problems.append(
                    MigrationSourceError(
                        file: orphan?.fileName ?? "\(found.version)",
                        message: "a \(found.down == nil ? "verify" : "down") script without its up script"))
                continue
            }
            let upScript = script(up, isVerify: false, problems: &problems)
            let downScript = found.down.flatMap { script($0, isVerify: false, problems: &problems) }
            let verifyScript = found.verify.flatMap { script($0, isVerify: true, problems: &problems) }
            if let upScript {
                migrations.append(
                    Migration(version: found.version, name: found.name, up: upScript, down: downScript, verify: verifyScript))
            }
        }
        if !problems.isEmpty {
            throw MigrationFolderError(
                code: .unreadableFiles, problems: problems,
                summary: "\(directory.path) (read as \(format)): \(problems.count) problem(s); nothing was run:")
        }
        if migrations.isEmpty { throw try nothingRecognised(in: directory, format: format) }
        return migrations
    }

    private static func script(
        _ found: FoundMigration.Script, isVerify: Bool, problems: inout [MigrationSourceError]
    ) -> MigrationScript? {
        do {
            let script = try MigrationScript(
                fileName: found.fileName, sql: found.sql, noTransaction: found.noTransaction, isVerify: isVerify,
                earlierSQL: found.earlierSQL)
            guard found.noTransactionWhenNeeded, script.directives.transactional, script.wrapper == nil,
                script.statements.contains(where: cannotRunInTransaction)
            else { return script }
            return try MigrationScript(
                fileName: found.fileName, sql: found.sql, noTransaction: true, isVerify: isVerify, earlierSQL: found.earlierSQL)
        } catch let error as MigrationSourceError {
            // The lexer stops at the first psql-only construct; list them all.
            let psql = SQLSplitter.psqlOnlySyntax(found.sql).map {
                MigrationSourceError(file: found.fileName, line: $0.line, message: $0.message)
            }
            problems.append(contentsOf: psql.contains { $0.line == error.line && $0.message == error.message } ? psql : [error])
            return nil
        } catch {
            problems.append(MigrationSourceError(file: found.fileName, message: "\(error)"))
            return nil
        }
    }

    private static func nothingRecognised(in directory: URL, format: MigrationFormat?) throws -> MigrationFolderError {
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { !$0.hasPrefix(".") && $0 != snapshotFileName }.sorted()
        let found = entries.isEmpty
            ? "the folder is empty"
            : "found \(entries.count) entr\(entries.count == 1 ? "y" : "ies"): "
                + entries.prefix(8).joined(separator: ", ") + (entries.count > 8 ? ", …" : "")
        let expected = (format.map { [$0] } ?? MigrationFormat.allCases).map { "  " + $0.expectation }
        return MigrationFolderError(
            code: .nothingRecognised, problems: [],
            summary: "\(directory.path): no migrations recognised; \(found). Expected one of these layouts:\n"
                + expected.joined(separator: "\n"))
    }

    /// Why a `.sql` file name is not `NNN_name.up.sql`, `.down.sql` or `.verify.sql`.
    static func nameProblem(_ fileName: String) -> MigrationSourceError {
        func problem(_ message: String) -> MigrationSourceError { MigrationSourceError(file: fileName, message: message) }
        guard let kind = [ScriptKind.up, .down, .verify].first(where: { fileName.hasSuffix(".\($0.rawValue).sql") }) else {
            return problem("no .up.sql, .down.sql or .verify.sql suffix (migration files are NNN_name.up.sql)")
        }
        let stem = fileName.dropLast(".\(kind.rawValue).sql".count)
        guard let underscore = stem.firstIndex(of: "_") else {
            return problem("no _ between the version and the name (NNN_name.\(kind.rawValue).sql)")
        }
        if case .failure(let versionProblem) = parseVersion(stem[..<underscore], file: fileName) { return versionProblem }
        return problem("the name '\(stem[stem.index(after: underscore)...])' is not lower-case ASCII letters, digits and _")
    }

    /// Reads the expected schema snapshot kept beside the migrations, if there is one.
    ///
    /// - Throws: Foundation's error when the file exists but cannot be read as UTF-8.
    public static func expectedSnapshot(directory: URL) throws -> SchemaSnapshot? {
        let url = directory.appendingPathComponent(snapshotFileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return SchemaSnapshot(text: try String(contentsOf: url, encoding: .utf8))
    }

    enum ScriptKind: String { case up, down, verify }

    static func parse(fileName: String) -> (version: Int64, name: String, kind: ScriptKind)? {
        guard let kind = [ScriptKind.up, .down, .verify].first(where: { fileName.hasSuffix(".\($0.rawValue).sql") })
        else { return nil }
        let stem = fileName.dropLast(".\(kind.rawValue).sql".count)
        guard let underscore = stem.firstIndex(of: "_") else { return nil }
        let digits = stem[..<underscore]
        let name = stem[stem.index(after: underscore)...]
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let version = Int64(digits), version > 0,
            !name.isEmpty,
            name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })
        else { return nil }
        return (version, String(name), kind)
    }
}
