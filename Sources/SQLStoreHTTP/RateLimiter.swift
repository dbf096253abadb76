import NIOCore
import Synchronization

/// A token bucket per caller (per token, or per client address without a valid token).
final class RateLimiter: Sendable {
    enum Key: Hashable {
        case token(Int64)
        case address(String)
    }
    private struct Bucket {
        var tokens: Double
        var updated: NIODeadline
    }
    private struct State {
        var buckets: [Key: Bucket] = [:]
        /// No pruning before this: a prune walks every bucket, so it runs at most once a second.
        var nextPrune = NIODeadline.uptimeNanoseconds(0)
    }
    private let state = Mutex(State())
    let limit: RateLimit
    /// Beyond this many buckets, those full again (the same as none) are dropped, at most once a
    /// second.
    private let pruneAbove = 10_000
    /// The most buckets kept at any time.
    private let capacity = 100_000

    init(limit: RateLimit) {
        self.limit = limit
    }

    /// Takes one request from `key`'s bucket: `nil` when allowed, else the seconds until the
    /// next request would be.
    func acquire(_ key: Key, now: NIODeadline = .now()) -> Int? {
        if limit.isOff { return nil }
        return state.withLock { state in
            if state.buckets.count > pruneAbove, now >= state.nextPrune {
                state.nextPrune = now + .seconds(1)
                // A bucket full again is the same as no bucket.
                let full = limit.burst
                state.buckets = state.buckets.filter { refilled($0.value, now: now) < full }
            }
            // Still this many callers mid-burst (many client addresses): drop arbitrary ones rather
            // than grow without bound; a dropped caller only starts with a full bucket again.
            while state.buckets.count >= capacity, state.buckets[key] == nil, let any = state.buckets.first {
                state.buckets[any.key] = nil
            }
            // Callers read the clock before taking the lock: never let a bucket's time go back.
            var bucket = state.buckets[key].map { Bucket(tokens: refilled($0, now: now), updated: max($0.updated, now)) }
                ?? Bucket(tokens: limit.burst, updated: now)
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                state.buckets[key] = bucket
                return nil
            }
            state.buckets[key] = bucket
            return retryAfter(tokens: bucket.tokens)
        }
    }

    /// Whether `key` has a request left, without taking it: `nil` when it has, else the seconds
    /// until it would. (A caller that then takes it with ``acquire(_:now:)`` may find it gone to a
    /// concurrent request; the bucket never goes below empty.)
    func available(_ key: Key, now: NIODeadline = .now()) -> Int? {
        if limit.isOff { return nil }
        return state.withLock { state in
            guard let bucket = state.buckets[key] else { return nil }
            let tokens = refilled(bucket, now: max(bucket.updated, now))
            return tokens >= 1 ? nil : retryAfter(tokens: tokens)
        }
    }

    /// Whole seconds until a bucket holding `tokens` (< 1) has one, at least 1. Capped at a day,
    /// which a rate as slow as `1e-20` would otherwise overflow.
    private func retryAfter(tokens: Double) -> Int {
        Int(max(1, min(((1 - tokens) / limit.rate).rounded(.up), 86_400)))
    }

    private func refilled(_ bucket: Bucket, now: NIODeadline) -> Double {
        let seconds = Double(max(0, (now - bucket.updated).nanoseconds)) / 1e9
        return min(limit.burst, bucket.tokens + seconds * limit.rate)
    }
}
