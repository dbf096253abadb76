import NIOCore
import Testing

@testable import SQLStoreHTTP

@Suite("Rate limiter")
struct RateLimiterTests {
    @Test("an empty bucket answers the whole seconds until its next request: at least 1, at most a day")
    func retryAfterIsBounded() {
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        let halfPerSecond = RateLimiter(limit: RateLimit(rate: 0.5, burst: 1))
        #expect(halfPerSecond.acquire(.address("a"), now: start) == nil)
        #expect(halfPerSecond.acquire(.address("a"), now: start) == 2)
        #expect(halfPerSecond.acquire(.address("a"), now: start + .milliseconds(1500)) == 1)
        #expect(halfPerSecond.acquire(.address("a"), now: start + .seconds(2)) == nil)

        // So slow that the seconds until the next request would overflow an Int.
        let glacial = RateLimiter(limit: RateLimit(rate: 1e-20, burst: 1))
        #expect(glacial.acquire(.token(1), now: start) == nil)
        #expect(glacial.acquire(.token(1), now: start) == 86_400)
        #expect(glacial.available(.token(1), now: start) == 86_400)
    }
}
