import SQLStore

/// `SQLSTORE_AUTH`, `SQLSTORE_TOKEN_CACHE_TTL`, `SQLSTORE_RATE_LIMIT` and `SQLSTORE_ADMIN_RATE_LIMIT`.
public struct AuthSettings: Sendable {
    /// `SQLSTORE_AUTH=on|off` (on). Off makes every caller an admin: for a trusted network only.
    public var enabled = true
    /// `SQLSTORE_TOKEN_CACHE_TTL` (10s): how long a verified token is trusted without asking the
    /// database again, and so the longest a revoked token keeps working on an instance.
    public var tokenCacheTTL: Duration = .seconds(10)
    /// `SQLSTORE_RATE_LIMIT` (100/200): requests per second per customer token, and per client
    /// address for requests without a valid token, written `RATE` or `RATE/BURST`; 0 turns the
    /// limit off. Low enough that one client takes a small share of what the server can answer
    /// (thousands a second on two cores), high enough for any one shopper's browser or app.
    public var rateLimit = RateLimit(rate: 100, burst: 200)
    /// `SQLSTORE_ADMIN_RATE_LIMIT` (10000/20000): the same per admin token, and per client address
    /// when authentication is off (every caller is then an admin). Admin tokens are a shop's own
    /// back end, trusted with most of the server: this is a ceiling against a runaway loop.
    public var adminRateLimit = RateLimit(rate: 10_000, burst: 20_000)

    public init() {}

    public init(environment: EnvironmentSettings) throws(ConfigurationError) {
        if let text = environment.string("SQLSTORE_AUTH") {
            switch text.lowercased() {
            case "on", "true", "1": enabled = true
            case "off", "false", "0": enabled = false
            default: throw ConfigurationError(setting: "SQLSTORE_AUTH", reason: "must be on or off, got '\(text)'")
            }
        }
        tokenCacheTTL = try environment.duration("SQLSTORE_TOKEN_CACHE_TTL") ?? tokenCacheTTL
        if let text = environment.string("SQLSTORE_RATE_LIMIT") {
            rateLimit = try RateLimit(text, setting: "SQLSTORE_RATE_LIMIT")
        }
        if let text = environment.string("SQLSTORE_ADMIN_RATE_LIMIT") {
            adminRateLimit = try RateLimit(text, setting: "SQLSTORE_ADMIN_RATE_LIMIT")
        }
    }
}

/// A token bucket's shape: `rate` requests a second on average, `burst` at once.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    public var rate: Double
    public var burst: Double

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }

    /// `RATE` (burst twice the rate) or `RATE/BURST`; `0` is off.
    public init(_ text: String, setting: String) throws(ConfigurationError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        let burst = parts.count == 2 ? Double(parts[1]) : parts.first.flatMap { Double($0) }.map { max(1, $0 * 2) }
        guard (1...2).contains(parts.count), let rate = Double(parts[0]), rate >= 0, rate.isFinite,
            let burst, burst >= 1, burst.isFinite
        else {
            throw ConfigurationError(
                setting: setting, reason: "must be requests per second, optionally /burst (e.g. 1000 or 1000/2000; 0 is off), got '\(text)'")
        }
        self.rate = rate
        self.burst = burst
    }

    public var isOff: Bool { rate == 0 }
    public var description: String { isOff ? "off" : "\(rate)/s, burst \(burst)" }
}
