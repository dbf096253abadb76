import ArgumentParser
import Foundation
import SQLStore
import SQLStoreMigrations

extension MigrateCommand {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the next NNN_name.up.sql and .down.sql.")
        @Argument(help: "What the migration does, e.g. add_order_notes.") var name: String
        @Option(help: "Folder to create them in (default: Sources/SQLStore/Migrations).") var dir: String?
        @Flag(help: "Mark it -- sqlstore:no-transaction (for CREATE INDEX CONCURRENTLY).") var noTransaction = false

        func run() async throws {
            try await reportingFailures {
                let directory = try sourceDirectory(dir)
                let slug = name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
                    .reduce(into: "") { result, character in
                        if character == "_" && (result.isEmpty || result.hasSuffix("_")) { return }
                        result.append(character)
                    }
                    .trimmingCharacters(in: CharacterSet(charactersIn: "_"))
                guard !slug.isEmpty, slug.allSatisfy(\.isASCII) else {
                    throw ValidationError("the name must contain ASCII letters or digits")
                }
                let hasMigrations = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                    .contains { $0.hasSuffix(".sql") }
                let existing = hasMigrations ? try MigrationSource.load(directory: directory, format: .sqlstore) : []
                let (next, overflow) = (existing.map(\.version).max() ?? 0).addingReportingOverflow(1)
                guard !overflow else { throw ValidationError("the highest version is \(Int64.max): no version follows it") }
                let stem = String(format: "%03lld_%@", next, slug)
                let header = noTransaction ? "-- sqlstore:no-transaction\n" : ""
                let up = directory.appendingPathComponent("\(stem).up.sql")
                let down = directory.appendingPathComponent("\(stem).down.sql")
                try "\(header)-- \(slug.replacingOccurrences(of: "_", with: " ")): say why this change is needed.\n\n"
                    .write(to: up, atomically: true, encoding: .utf8)
                try "\(header)-- Reverses \(stem).up.sql. Use IF EXISTS so that it can run twice.\n\n"
                    .write(to: down, atomically: true, encoding: .utf8)
                print("created \(up.path)\ncreated \(down.path)")
            }
        }
    }
}
