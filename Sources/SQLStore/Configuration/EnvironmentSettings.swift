import SQLStoreMigrations
import SQLStoreSupport

/// Typed reads of settings from an environment (`ProcessInfo.processInfo.environment` in the
/// executable, a literal dictionary in tests). An empty value counts as unset, as in Go.
///
/// Each read throws a ``ConfigurationError`` naming the variable, so a typo in production says
/// which setting to fix instead of failing later with a default.
public struct EnvironmentSettings: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String]) {
        self.values = values
    }

    /// The value, or nil when unset or empty.
    public func string(_ name: String) -> String? {
        values[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A positive integer.
    public func positiveInteger(_ name: String) throws(ConfigurationError) -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text), value > 0 else {
            throw ConfigurationError(setting: name, reason: "must be a positive integer, got '\(text)'")
        }
        return value
    }

    /// A TCP port, 1-65535.
    public func port(_ name: String) throws(ConfigurationError) -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text), (1...65535).contains(value) else {
            throw ConfigurationError(setting: name, reason: "must be a port from 1 to 65535, got '\(text)'")
        }
        return value
    }

    /// A positive duration written as the reference service writes them: `500ms`, `5s`, `5m`.
    public func duration(_ name: String) throws(ConfigurationError) -> Duration? {
        guard let text = string(name) else { return nil }
        guard let value = Duration(goStyle: text), value > .zero else {
            throw ConfigurationError(setting: name, reason: "must be a positive duration such as 500ms, 5s or 5m, got '\(text)'")
        }
        return value
    }

    /// A PostgreSQL URL such as `postgres://user:pass@host:5432/db`.
    public func databaseURL(_ name: String) throws(ConfigurationError) -> DatabaseURL? {
        guard let text = string(name) else { return nil }
        return try Self.databaseURL(text, setting: name)
    }

    /// `text` parsed as a PostgreSQL URL; an error names `setting` and never echoes a password.
    public static func databaseURL(_ text: String, setting: String) throws(ConfigurationError) -> DatabaseURL {
        do {
            return try DatabaseURL(text)
        } catch {
            throw ConfigurationError(setting: setting, reason: error.description)
        }
    }

    /// One of a fixed set of words, e.g. `none` or `pgbouncer`.
    public func choice<Value: RawRepresentable & CaseIterable>(_ name: String, as: Value.Type) throws(ConfigurationError) -> Value?
    where Value.RawValue == String {
        guard let text = string(name) else { return nil }
        guard let value = Value(rawValue: text.lowercased()) else {
            let allowed = Value.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(setting: name, reason: "must be one of \(allowed), got '\(text)'")
        }
        return value
    }
}
