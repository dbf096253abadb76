public import Foundation

/// A migrations folder's lint settings: which rules apply, at what severity, and from which
/// version on. `sqlstore migrate lint --dir DIR` reads them from `DIR/sqlstore-lint.json`
/// (``fileName``), or from the file `--config` names.
///
/// ```json
/// {
///   "//": "audit_log is written once a day; its indexes need no CONCURRENTLY",
///   "exclude_rules": ["table-without-primary-key"],
///   "enable_rules": ["style-timestamp", "identifier-too-long"],
///   "severity": { "missing-down": "error", "whole-table-update": "warning" },
///   "start_after": 12
/// }
/// ```
///
/// Every key is optional. `rules` replaces the default rule set (as `--rule` does),
/// `enable_rules` adds opt-in rules to it, `exclude_rules` removes rules; `severity` changes a
/// rule's severity; `start_after` reports nothing for migrations numbered up to that version,
/// which still count as history (for adopting lint in a project with migrations already
/// deployed). Keys starting with `//` are comments. Anything else is an error, so a typo never
/// silently turns a check off.
public struct LintConfiguration: Sendable, Equatable {
    /// The file `sqlstore migrate lint --dir DIR` reads from `DIR` when it exists.
    public static let fileName = "sqlstore-lint.json"

    /// The rules to apply instead of ``LintRule/defaultRules``; nil keeps the defaults.
    public var rules: Set<LintRule>?
    /// Opt-in rules to apply too.
    public var enabledRules: Set<LintRule>
    /// Rules not to apply.
    public var excludedRules: Set<LintRule>
    /// Severities that replace the rules' own (``LintRule/severity``).
    public var severities: [LintRule: LintSeverity]
    /// Migrations numbered up to this version are linted as history only: none of their findings
    /// is reported.
    public var startAfter: Int64?

    public init(
        rules: Set<LintRule>? = nil, enabledRules: Set<LintRule> = [], excludedRules: Set<LintRule> = [],
        severities: [LintRule: LintSeverity] = [:], startAfter: Int64? = nil
    ) {
        self.rules = rules
        self.enabledRules = enabledRules
        self.excludedRules = excludedRules
        self.severities = severities
        self.startAfter = startAfter
    }

    /// The rules this configuration applies: ``rules`` (or the defaults), plus
    /// ``enabledRules``, minus ``excludedRules``.
    public var selectedRules: Set<LintRule> {
        (rules ?? LintRule.defaultRules).union(enabledRules).subtracting(excludedRules)
    }

    /// Reads and checks the configuration file at `url`.
    ///
    /// - Throws: ``LintConfigurationError`` naming the file, and the key where there is one,
    ///   when the file cannot be read, is not a JSON object, has a key this type does not know,
    ///   names a rule or severity that does not exist, or gives a value of the wrong type.
    public static func load(from url: URL) throws(LintConfigurationError) -> LintConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw LintConfigurationError(file: url.path, key: nil, reason: "cannot be read (\(error.localizedDescription))")
        }
        return try parse(data, file: url.path)
    }

    /// Parses a configuration document; `file` names it in errors.
    ///
    /// - Throws: ``LintConfigurationError``, as ``load(from:)`` describes.
    public static func parse(_ data: Data, file: String) throws(LintConfigurationError) -> LintConfiguration {
        func failure(_ key: String?, _ reason: String) -> LintConfigurationError {
            LintConfigurationError(file: file, key: key, reason: reason)
        }
        let object: [String: JSONValue]
        do {
            guard case .object(let parsed) = try JSONDecoder().decode(JSONValue.self, from: data) else {
                throw failure(nil, "must hold one JSON object")
            }
            object = parsed
        } catch let error as LintConfigurationError {
            throw error
        } catch {
            throw failure(nil, "is not valid JSON")
        }

        func lintRule(_ name: String, key: String) throws(LintConfigurationError) -> LintRule {
            guard let rule = LintRule(rawValue: name) else {
                throw failure(key, "'\(name)' is no lint rule (sqlstore migrate lint --rules lists them)")
            }
            return rule
        }
        func ruleList(_ key: String) throws(LintConfigurationError) -> Set<LintRule>? {
            guard let value = object[key] else { return nil }
            guard case .array(let names) = value else { throw failure(key, "must be an array of rule names") }
            var rules: Set<LintRule> = []
            for (index, element) in names.enumerated() {
                guard case .string(let name) = element else { throw failure("\(key)[\(index)]", "must be a rule name (a string)") }
                rules.insert(try lintRule(name, key: "\(key)[\(index)]"))
            }
            return rules
        }

        let known: Set<String> = ["rules", "enable_rules", "exclude_rules", "severity", "start_after"]
        for key in object.keys.sorted() where !known.contains(key) && !key.hasPrefix("//") {
            throw failure(key, "is not a setting (known: \(known.sorted().joined(separator: ", ")); keys starting with // are comments)")
        }
        var configuration = LintConfiguration()
        configuration.rules = try ruleList("rules")
        configuration.enabledRules = try ruleList("enable_rules") ?? []
        configuration.excludedRules = try ruleList("exclude_rules") ?? []
        if let value = object["severity"] {
            guard case .object(let severities) = value else {
                throw failure("severity", "must be an object of rule name to \"error\" or \"warning\"")
            }
            for (name, level) in severities.sorted(by: { $0.key < $1.key }) {
                let key = "severity.\(name)"
                let rule = try lintRule(name, key: key)
                guard case .string(let text) = level, let severity = LintSeverity(rawValue: text) else {
                    throw failure(key, "must be \"error\" or \"warning\"")
                }
                configuration.severities[rule] = severity
            }
        }
        if let value = object["start_after"] {
            guard case .integer(let version) = value, version >= 0 else {
                throw failure("start_after", "must be a migration version: a whole number, 0 or more")
            }
            configuration.startAfter = version
        }
        return configuration
    }
}

/// A lint configuration file that cannot be used: which file, which key, and why.
public struct LintConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file's path as it was given.
    public let file: String
    /// The offending key (`severity.missing-down`, `exclude_rules[2]`), or nil for the file as a whole.
    public let key: String?
    /// What is wrong with it.
    public let reason: String

    public init(file: String, key: String?, reason: String) {
        self.file = file
        self.key = key
        self.reason = reason
    }

    public var description: String {
        if let key { return "\(file): \(key): \(reason)" }
        return "\(file): \(reason)"
    }
}

/// A JSON value as the configuration file holds it, kept apart by type: JSONDecoder does not
/// read `true` as 1, nor `1.5` as a whole number.
private enum JSONValue: Decodable {
    case null, bool(Bool), integer(Int64), number(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}
