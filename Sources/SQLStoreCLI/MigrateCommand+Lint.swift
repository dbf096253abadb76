import ArgumentParser
import Foundation
import SQLStore
import SQLStoreMigrations

extension MigrateCommand {
    /// `sqlstore migrate lint`: exit status 0 when clean, 1 when there are findings, 2 when lint
    /// could not run (no such folder, a misnamed file, a file the lexer cannot split, an unknown
    /// rule or format, a bad configuration file). Command-line usage errors keep ArgumentParser's status 64.
    struct Lint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Flag what is dangerous on a live database, with the safe alternative.",
            discussion: """
                Exit status: 0 no findings, 1 findings (errors or warnings), 2 lint could not run. \
                See docs/lint.md for every rule and the output formats.
                """)
        @Option(help: "Folder of migrations (default: the migrations built into sqlstore).") var dir: String?
        @Flag(help: "List every rule with its explanation.") var rules = false
        @Option(help: "Output format: text, json, github (workflow annotations) or sarif (SARIF 2.1.0).")
        var format = "text"
        @Option(name: .customLong("rule"), help: "Apply only this rule (repeatable).") var onlyRules: [String] = []
        @Option(name: .customLong("exclude-rule"), help: "Do not apply this rule (repeatable).")
        var excludedRules: [String] = []
        @Option(name: .customLong("enable-rule"), help: "Apply this opt-in (style) rule too (repeatable).")
        var enabledRules: [String] = []
        @Argument(
            help: """
                Lint only these NNN_name.up.sql/.down.sql files (or - for SQL on standard input, as the next \
                migration), with the migrations of --dir as context.
                """)
        var files: [String] = []
        @Option(help: "Lint only the migration files of --dir that git shows as added since this revision.")
        var changedSince: String?
        @Option(
            help: """
                Lint configuration file (JSON; default: sqlstore-lint.json in --dir when it exists). See docs/lint.md.
                """)
        var config: String?
        @Flag(help: "Ignore sqlstore-lint.json in --dir.") var noConfig = false

        func run() async throws {
            if rules {
                for rule in LintRule.allCases {
                    print(
                        "\(rule.rawValue) (\(rule.isOptIn ? "opt-in, " : "")\(rule.severity.rawValue)): \(rule.summary)\n"
                            + "  why: \(rule.explanation)\n"
                            + "  instead: \(rule.safeAlternative)\n")
                }
                return
            }
            let report: LintReport
            let outputFormat: LintReport.Format
            do {
                guard let parsed = LintReport.Format(rawValue: format) else {
                    throw LintUsageError(
                        "unknown format '\(format)' (known: \(LintReport.Format.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                outputFormat = parsed
                let configuration = try loadConfiguration()
                let selected = try selectedRules(configuration: configuration)
                let directory = try dir.map { URL(fileURLWithPath: $0) } ?? SchemaMigrations.directory()
                if let changedSince {
                    guard let dir else { throw LintUsageError("--changed-since needs --dir, the folder git tracks") }
                    let added = try Self.addedFiles(in: dir, since: changedSince)
                    let lintFiles = Lint(copying: self, files: added.map { dir + "/" + $0 })
                    report = added.isEmpty
                        ? LintReport(findings: [], migrationCount: 0, directory: dir)
                        : try lintFiles.lintFiles(context: directory, rules: selected, configuration: configuration)
                } else if files.isEmpty {
                    let migrations = try MigrationSource.load(directory: directory)
                    let findings = linter(rules: selected, configuration: configuration).lint(migrations)
                    report = LintReport(findings: findings, migrationCount: migrations.count, directory: dir)
                } else {
                    report = try lintFiles(context: directory, rules: selected, configuration: configuration)
                }
            } catch {
                printError("error: lint could not run: \(describeLintFailure(error))")
                throw ExitCode(2)
            }
            print(report.render(outputFormat), terminator: "")
            if !report.findings.isEmpty { throw ExitCode(1) }
        }

        init() {}

        /// This command with `files` instead of its own.
        init(copying other: Lint, files: [String]) {
            self = other
            self.files = files
        }

        /// The `.sql` files under `dir` that `git diff --diff-filter=A REF` lists: added since
        /// REF, committed or not (untracked files are not seen by git diff).
        static func addedFiles(in dir: String, since revision: String) throws -> [String] {
            let git = Process()
            git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            git.arguments = ["git", "-C", dir, "diff", "--name-only", "--diff-filter=A", "--relative", revision, "--", "."]
            let output = Pipe()
            git.standardOutput = output
            try git.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            git.waitUntilExit()
            guard git.terminationStatus == 0 else {
                throw LintUsageError("git diff --name-only \(revision) failed in \(dir) (status \(git.terminationStatus))")
            }
            return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
                .filter { $0.hasSuffix(".sql") && !$0.contains("/") }
        }

        /// Lints `files` in the history of `context`: a copy of the whole folder (any layout: plans,
        /// subfolders and `.conf` files too) with the files written over it, loaded and validated
        /// as `up` would, then standard input as the next version after them; reports the given
        /// files' findings only.
        func lintFiles(context: URL, rules: Set<LintRule>, configuration: LintConfiguration) throws -> LintReport {
            let fileManager = FileManager.default
            let work = fileManager.temporaryDirectory.appendingPathComponent("sqlstore-lint-\(UUID().uuidString)")
            if fileManager.fileExists(atPath: context.path) {
                try fileManager.copyItem(at: context, to: work)
            } else {
                try fileManager.createDirectory(at: work, withIntermediateDirectories: true)
            }
            defer { try? fileManager.removeItem(at: work) }
            var paths: [String: String] = [:]
            var selected = rules
            for file in files where file != "-" {
                let url = URL(fileURLWithPath: file)
                guard fileManager.fileExists(atPath: url.path) else {
                    throw LintUsageError("\(file): no such file")
                }
                let name = url.lastPathComponent
                try? fileManager.removeItem(at: work.appendingPathComponent(name))
                try fileManager.copyItem(at: url, to: work.appendingPathComponent(name))
                paths[name] = file
            }
            // An empty folder is no history, not a folder nothing could be read from.
            var migrations = try fileManager.contentsOfDirectory(atPath: work.path).isEmpty ? [] : MigrationSource.load(directory: work)
            if files.contains("-") {
                // Not written into the folder: whatever its layout, standard input is one up script.
                let (next, overflow) = (migrations.map(\.version).max() ?? 0).addingReportingOverflow(1)
                guard !overflow else { throw LintUsageError("-: the folder's highest version is \(Int64.max), so none follows it") }
                let sql = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                migrations.append(Migration(version: next, name: "stdin", up: try MigrationScript(fileName: "-", sql: sql), down: nil))
                paths["-"] = "-"
                selected.remove(.missingDown)
            }
            let findings = linter(rules: selected, configuration: configuration).lint(migrations)
                .filter { paths[$0.file] != nil }
            return LintReport(findings: findings, migrationCount: paths.count, directory: dir, paths: paths)
        }

        func linter(rules: Set<LintRule>, configuration: LintConfiguration) -> MigrationLinter {
            MigrationLinter(rules: rules, severities: configuration.severities, startAfter: configuration.startAfter)
        }

        /// The file `--config` names, else `sqlstore-lint.json` in `--dir` when it exists (not
        /// with `--no-config`), else the defaults.
        func loadConfiguration() throws -> LintConfiguration {
            if let config {
                guard !noConfig else { throw LintUsageError("--config and --no-config exclude each other") }
                guard FileManager.default.fileExists(atPath: config) else {
                    throw LintUsageError("\(config): no such lint configuration file")
                }
                return try LintConfiguration.load(from: URL(fileURLWithPath: config))
            }
            guard !noConfig, let dir else { return LintConfiguration() }
            let path = (dir.hasSuffix("/") ? dir : dir + "/") + LintConfiguration.fileName
            guard FileManager.default.fileExists(atPath: path) else { return LintConfiguration() }
            return try LintConfiguration.load(from: URL(fileURLWithPath: path))
        }

        /// The configuration's rules (its `rules`, or the defaults, with its `enable_rules` and
        /// without its `exclude_rules`) are the starting set; `--rule` replaces them with the
        /// rules named (opt-in ones included); `--enable-rule` adds rules; `--exclude-rule`
        /// removes rules.
        func selectedRules(configuration: LintConfiguration) throws -> Set<LintRule> {
            func parse(_ names: [String]) throws -> Set<LintRule> {
                Set(
                    try names.flatMap { $0.split(separator: ",") }.map { name in
                        let trimmed = name.trimmingCharacters(in: .whitespaces)
                        guard let rule = LintRule(rawValue: trimmed) else {
                            throw LintUsageError("'\(trimmed)' is no lint rule (sqlstore migrate lint --rules lists them)")
                        }
                        return rule
                    })
            }
            let base = onlyRules.isEmpty ? configuration.selectedRules : try parse(onlyRules)
            return base.union(try parse(enabledRules)).subtracting(try parse(excludedRules))
        }
    }
}

/// An option of `migrate lint` that names no rule or format.
struct LintUsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

private func describeLintFailure(_ error: any Error) -> String {
    if let error = error as? LintUsageError { return error.description }
    if let error = error as? LintConfigurationError { return error.description }
    return describe(error)
}
