import Logging
import SQLStore

/// Everything `sqlstore serve` is configured with, read once: defaults, overridden by the
/// environment (the reference service's names), overridden by flags (the executable applies
/// those to the loaded value).
///
/// ``buildApplication(configuration:logger:metrics:)`` builds the whole service from it, so a
/// test configures the very application the executable runs.
public struct Configuration: Sendable {
    /// How the store reaches PostgreSQL (`DATABASE_*`).
    public var database: DatabaseSettings
    /// How the HTTP server runs (`SERVER_*`).
    public var server: ServerSettings
    /// `SQLSTORE_CURSOR_SECRET`: signs page cursors, so that a cursor cannot be forged to page
    /// from an arbitrary position. Every instance serving one database must have the same one,
    /// so that a cursor issued by one is accepted by all; see ``CursorSecret``.
    public var cursorSecret: CursorSecret?
    /// Order workers run inside the server (`--workers`, default 0).
    public var workers = 0
    /// Fill an empty store with a demo catalogue once the pool runs.
    public var demo = false
    /// Serve even if the schema is behind the migrations this build ships.
    public var allowStaleSchema = false
    /// `LOG_LEVEL` (`info`).
    public var logLevel: Logger.Level = .info
    /// `SQLSTORE_AUTH`, `SQLSTORE_TOKEN_CACHE_TTL`, `SQLSTORE_RATE_LIMIT`: who may call, and how often.
    public var auth = AuthSettings()

    public init(database: DatabaseSettings = .init(), server: ServerSettings = .init()) {
        self.database = database
        self.server = server
    }

    /// Defaults overridden by `environment`.
    ///
    /// - Throws: ``ConfigurationError`` naming the first variable that is not usable.
    public init(environment: EnvironmentSettings) throws(ConfigurationError) {
        self.init(database: try DatabaseSettings(environment: environment), server: try ServerSettings(environment: environment))
        if let text = environment.string("SQLSTORE_CURSOR_SECRET") {
            cursorSecret = try CursorSecret(text, setting: "SQLSTORE_CURSOR_SECRET")
        }
        if let text = environment.string("LOG_LEVEL") {
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConfigurationError(setting: "LOG_LEVEL", reason: "must be one of \(levels), got '\(text)'")
            }
            logLevel = level
        }
        auth = try AuthSettings(environment: environment)
    }
}

/// The secret that signs page cursors. Its text is never logged or shown.
public struct CursorSecret: Sendable, CustomStringConvertible {
    /// Shorter secrets are refused: a cursor's signature is only as strong as its key.
    public static let minimumLength = 32

    /// The secret itself: for signing, never for logs.
    public let text: String

    /// - Throws: ``ConfigurationError`` for `setting` when the secret is shorter than
    ///   ``minimumLength`` characters.
    public init(_ text: String, setting: String = "SQLSTORE_CURSOR_SECRET") throws(ConfigurationError) {
        guard text.utf8.count >= Self.minimumLength else {
            throw ConfigurationError(
                setting: setting,
                reason: "must be at least \(Self.minimumLength) characters (for example the output of `openssl rand -hex 32`)")
        }
        self.text = text
    }

    /// A fresh random secret, for a process that is the only one to read its own cursors.
    public static func random() -> CursorSecret {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return CursorSecret(unchecked: bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined())
    }

    private init(unchecked text: String) { self.text = text }

    public var description: String { "<cursor secret>" }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
