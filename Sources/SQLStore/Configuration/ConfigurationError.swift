/// A setting that cannot be used, named as the operator wrote it: the environment variable
/// (`DATABASE_MAX_OPEN_CONNS`) or the flag that set it.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The environment variable or flag, e.g. `SERVER_PORT`.
    public let setting: String
    /// What is wrong and what would be accepted; never the value of a secret.
    public let reason: String

    public init(setting: String, reason: String) {
        self.setting = setting
        self.reason = reason
    }

    public var description: String { "\(setting): \(reason)" }
}
