import Foundation

/// Reads migrations from a directory of `NNN_name.up.sql` / `NNN_name.down.sql` files.
public enum MigrationSource {
    /// The file the expected schema is kept in, beside the migrations (see ``SchemaSnapshot``).
    public static let snapshotFileName = "schema.snapshot"

    /// Loads and validates every migration in `directory`, ordered by version.
    ///
    /// Refuses, naming the file: a `.sql` file whose name does not follow the pattern, two
    /// migrations with one version, a down script without its up script, and any script the
    /// lexer or directive parser rejects. Other files (a README, the schema snapshot) are ignored.
    public static func load(directory: URL) throws -> [Migration] {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw MigrationSourceError(file: directory.path, message: "no such migrations directory")
        }
        let names = try fileManager.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }.sorted()

        struct Pair { var name: String; var up: MigrationScript?; var down: MigrationScript? }
        var pairs: [Int64: Pair] = [:]
        for fileName in names {
            guard let parsed = parse(fileName: fileName) else {
                throw MigrationSourceError(
                    file: fileName,
                    message: "migration files are named NNN_name.up.sql or NNN_name.down.sql (lower-case name, digits and _)")
            }
            let data = try Data(contentsOf: directory.appendingPathComponent(fileName))
            guard let sql = String(data: data, encoding: .utf8) else {
                throw MigrationSourceError(file: fileName, message: "the file is not valid UTF-8")
            }
            let script = try MigrationScript(fileName: fileName, sql: sql)
            var pair = pairs[parsed.version] ?? Pair(name: parsed.name)
            guard pair.name == parsed.name else {
                throw MigrationSourceError(
                    file: fileName,
                    message: "version \(parsed.version) is used by two migrations: '\(pair.name)' and '\(parsed.name)'")
            }
            if parsed.isUp { pair.up = script } else { pair.down = script }
            pairs[parsed.version] = pair
        }
        return try pairs.sorted { $0.key < $1.key }.map { version, pair in
            guard let up = pair.up else {
                throw MigrationSourceError(
                    file: pair.down?.fileName ?? "\(version)", message: "a down script without its up script")
            }
            return Migration(version: version, name: pair.name, up: up, down: pair.down)
        }
    }

    /// Reads the expected schema snapshot kept beside the migrations, if there is one.
    public static func expectedSnapshot(directory: URL) throws -> SchemaSnapshot? {
        let url = directory.appendingPathComponent(snapshotFileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return SchemaSnapshot(text: try String(contentsOf: url, encoding: .utf8))
    }

    static func parse(fileName: String) -> (version: Int64, name: String, isUp: Bool)? {
        let isUp: Bool
        let stem: Substring
        if fileName.hasSuffix(".up.sql") {
            isUp = true
            stem = fileName.dropLast(".up.sql".count)
        } else if fileName.hasSuffix(".down.sql") {
            isUp = false
            stem = fileName.dropLast(".down.sql".count)
        } else {
            return nil
        }
        guard let underscore = stem.firstIndex(of: "_") else { return nil }
        let digits = stem[..<underscore]
        let name = stem[stem.index(after: underscore)...]
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let version = Int64(digits), version > 0,
            !name.isEmpty,
            name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })
        else { return nil }
        return (version, String(name), isUp)
    }
}
