import Foundation

/// The findings of one lint run, rendered in the formats `sqlstore migrate lint --format` offers.
/// Paths are shown as given: ``directory`` joined with each finding's file name, so that a CI
/// run from the repository's root gets repository-relative paths.
public struct LintReport: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        /// For people: `path:line:column: severity [rule] message`, the statement, why and instead.
        case text
        /// A stable document: ``JSONDocument``.
        case json
        /// GitHub Actions workflow commands: `::error file=…,line=…,col=…,title=…::message`.
        case github
        /// SARIF 2.1.0, for code-scanning tools.
        case sarif
    }

    public let findings: [LintFinding]
    /// How many migrations were linted.
    public let migrationCount: Int
    /// The folder the files are in, as the user gave it; nil for the migrations built into sqlstore.
    public let directory: String?

    /// File name → the path to show for it, for files given one by one (`-` for standard input).
    public let paths: [String: String]

    public init(findings: [LintFinding], migrationCount: Int, directory: String?, paths: [String: String] = [:]) {
        self.findings = findings
        self.migrationCount = migrationCount
        self.directory = directory
        self.paths = paths
    }

    /// The path of a finding's file as shown: `migrations/012_x.up.sql` for `--dir migrations`.
    public func path(of finding: LintFinding) -> String {
        if let given = paths[finding.file] { return given }
        guard let directory, !directory.isEmpty, directory != "." else { return finding.file }
        return directory.hasSuffix("/") ? directory + finding.file : directory + "/" + finding.file
    }

    public func render(_ format: Format) -> String {
        switch format {
        case .text: return text()
        case .json: return encode(jsonDocument())
        case .github: return github()
        case .sarif: return encode(sarifDocument())
        }
    }

    // MARK: text

    func text() -> String {
        var lines: [String] = []
        for finding in findings {
            lines.append(
                "\(path(of: finding)):\(finding.line):\(finding.column): \(finding.severity.rawValue) "
                    + "[\(finding.rule.rawValue)] \(finding.message)")
            if !finding.excerpt.isEmpty {
                lines.append("  | \(finding.excerpt)")
                if let marker = Self.marker(for: finding) { lines.append("  | \(marker)") }
            }
            lines.append("  why: \(finding.why)")
            lines.append("  instead: \(finding.safeAlternative)")
            lines.append("  see: \(finding.rule.documentationPath)")
        }
        if findings.isEmpty {
            lines.append("lint: \(migrationCount) migrations, no findings")
        } else {
            let errors = findings.filter { $0.severity == .error }.count
            lines.append(
                "\(findings.count) finding(s) in \(migrationCount) migrations: \(errors) error(s), "
                    + "\(findings.count - errors) warning(s)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Carets under the clause the finding is about, when the statement's first line holds it:
    /// `             ^^^^^^^^^^` under `DROP INDEX` for drop-index-without-concurrently. The
    /// finding's own clauses are tried first, then the rule's; they match whole tokens, outside
    /// quoted identifiers, strings and comments (``ClauseMarker``).
    static func marker(for finding: LintFinding) -> String? {
        guard !finding.excerpt.isEmpty else { return nil }
        if finding.rule == .unknownLintIgnore {
            // The excerpt is the directive, a comment: mark the unknown name in it as written.
            let excerpt = finding.excerpt
            guard let name = finding.clauses.first,
                let range = excerpt.ranges(of: name).first(where: { range in
                    let before = range.lowerBound > excerpt.startIndex ? excerpt[excerpt.index(before: range.lowerBound)] : " "
                    let after = range.upperBound < excerpt.endIndex ? excerpt[range.upperBound] : ","
                    return (before == "=" || before == ",") && (after == "," || after.isWhitespace)
                })
            else { return nil }
            let offset = excerpt.distance(from: excerpt.startIndex, to: range.lowerBound)
            return String(repeating: " ", count: offset) + String(repeating: "^", count: name.count)
        }
        return ClauseMarker.marker(in: finding.excerpt, clauses: finding.clauses + finding.rule.clauses)
    }

    // MARK: json

    /// The `--format json` document. Its fields are stable: new fields may be added, none is
    /// renamed or removed without a new `version`. `why` and `safe_alternative` are the
    /// finding's own (``LintFinding/why``, ``LintFinding/safeAlternative``).
    public struct JSONDocument: Codable, Sendable, Hashable {
        public struct Finding: Codable, Sendable, Hashable {
            public let rule: String
            public let severity: String
            public let file: String
            public let line: Int
            public let column: Int
            public let excerpt: String
            public let message: String
            public let why: String
            public let safeAlternative: String
            public let doc: String

            enum CodingKeys: String, CodingKey {
                case rule, severity, file, line, column, excerpt, message, why
                case safeAlternative = "safe_alternative"
                case doc
            }
        }

        public let version: Int
        public let migrations: Int
        public let findings: [Finding]
    }

    public func jsonDocument() -> JSONDocument {
        JSONDocument(
            version: 1, migrations: migrationCount,
            findings: findings.map { finding in
                JSONDocument.Finding(
                    rule: finding.rule.rawValue, severity: finding.severity.rawValue, file: path(of: finding),
                    line: finding.line, column: finding.column, excerpt: finding.excerpt, message: finding.message,
                    why: finding.why, safeAlternative: finding.safeAlternative,
                    doc: finding.rule.documentationPath)
            })
    }

    // MARK: github

    func github() -> String {
        findings.map { finding in
            let level = finding.severity == .error ? "error" : "warning"
            let properties = [
                "file=\(Self.escapeProperty(path(of: finding)))", "line=\(finding.line)", "col=\(finding.column)",
                "title=\(Self.escapeProperty("sqlstore lint: \(finding.rule.rawValue)"))",
            ]
            let message = "[\(finding.rule.rawValue)] \(finding.message)\nInstead: \(finding.safeAlternative)"
            return "::\(level) \(properties.joined(separator: ","))::\(Self.escapeData(message))\n"
        }.joined()
    }

    /// Workflow-command data: `%`, CR and LF are percent-encoded.
    static func escapeData(_ text: String) -> String {
        text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }

    /// Workflow-command property values: as data, and `:` and `,` too.
    static func escapeProperty(_ text: String) -> String {
        escapeData(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }

    // MARK: sarif

    struct SARIF: Encodable {
        struct Text: Encodable { let text: String }
        struct Configuration: Encodable { let level: String }
        struct Rule: Encodable {
            let id: String
            let shortDescription: Text
            let fullDescription: Text
            let help: Text
            let helpUri: String
            let defaultConfiguration: Configuration
        }
        struct Driver: Encodable {
            let name: String
            let informationUri: String
            let rules: [Rule]
        }
        struct Tool: Encodable { let driver: Driver }
        struct ArtifactLocation: Encodable { let uri: String }
        struct Region: Encodable {
            let startLine: Int
            let startColumn: Int
            let snippet: Text?
        }
        struct PhysicalLocation: Encodable {
            let artifactLocation: ArtifactLocation
            let region: Region
        }
        struct Location: Encodable { let physicalLocation: PhysicalLocation }
        struct Result: Encodable {
            let ruleId: String
            let ruleIndex: Int
            let level: String
            let message: Text
            let locations: [Location]
        }
        struct Run: Encodable {
            let tool: Tool
            let columnKind: String
            let results: [Result]
        }

        let schema = "https://json.schemastore.org/sarif-2.1.0.json"
        let version = "2.1.0"
        let runs: [Run]

        enum CodingKeys: String, CodingKey {
            case schema = "$schema"
            case version, runs
        }
    }

    func sarifDocument() -> SARIF {
        let rules = LintRule.allCases
        let driver = SARIF.Driver(
            name: "sqlstore migrate lint", informationUri: "docs/lint.md",
            rules: rules.map { rule in
                SARIF.Rule(
                    id: rule.rawValue, shortDescription: .init(text: rule.summary),
                    fullDescription: .init(text: rule.explanation), help: .init(text: rule.safeAlternative),
                    helpUri: rule.documentationPath, defaultConfiguration: .init(level: rule.severity.rawValue))
            })
        let results = findings.map { finding in
            SARIF.Result(
                ruleId: finding.rule.rawValue, ruleIndex: rules.firstIndex(of: finding.rule) ?? 0,
                level: finding.severity.rawValue,
                message: .init(text: "\(finding.message)\nInstead: \(finding.safeAlternative)"),
                locations: [
                    SARIF.Location(
                        physicalLocation: .init(
                            artifactLocation: .init(uri: path(of: finding)),
                            region: .init(
                                startLine: finding.line, startColumn: finding.column,
                                snippet: finding.excerpt.isEmpty ? nil : .init(text: finding.excerpt))))
                ])
        }
        return SARIF(runs: [SARIF.Run(tool: .init(driver: driver), columnKind: "unicodeCodePoints", results: results)])
    }

    private func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
