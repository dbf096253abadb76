import SQLStore
import SQLStoreHTTP
import Testing

@Suite("SQLSTORE_RATE_LIMIT")
struct RateLimitSettingTests {
    @Test("RATE gives a burst of twice the rate, RATE/BURST both, and 0 is off")
    func readsRateAndBurst() throws {
        #expect(try RateLimit("100", setting: "SQLSTORE_RATE_LIMIT") == RateLimit(rate: 100, burst: 200))
        #expect(try RateLimit("100/150", setting: "SQLSTORE_RATE_LIMIT") == RateLimit(rate: 100, burst: 150))
        #expect(try RateLimit("0", setting: "SQLSTORE_RATE_LIMIT").isOff)
        #expect(try RateLimit("0.25", setting: "SQLSTORE_RATE_LIMIT") == RateLimit(rate: 0.25, burst: 1))
    }

    @Test("anything else is refused, naming the variable", arguments: ["", "fast", "-1", "10/0", "10/x", "10/20/30", "inf", "10/inf"])
    func refusesOtherText(text: String) {
        #expect(throws: ConfigurationError.self) { try RateLimit(text, setting: "SQLSTORE_RATE_LIMIT") }
        do {
            _ = try RateLimit(text, setting: "SQLSTORE_RATE_LIMIT")
        } catch {
            #expect(error.setting == "SQLSTORE_RATE_LIMIT")
        }
    }
}
