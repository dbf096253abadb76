import Foundation
import NIOCore
import SQLStore
import Synchronization

/// Verified tokens, each trusted for the cache's TTL (or until the token expires, if sooner): a hit
/// costs no database round trip and no SHA-256.
///
/// Entries are found by a 64-bit SipHash of the presented secret (Swift's `Hasher`, seeded at
/// random per process, so nobody outside can steer which entries a probe lands on) and then
/// confirmed by comparing the whole secret in constant time; the secret is hashed with SHA-256
/// only on a miss, for the database. Only verified tokens are cached, never unknown ones, and the
/// cache holds at most `capacity` entries: presenting made-up tokens cannot grow it.
final class TokenCache: Sendable {
    private struct Entry {
        /// The secret's bytes: what a hit is confirmed against.
        let secret: [UInt8]
        let caller: Caller
        let until: NIODeadline
    }
    private let entries = Mutex<[Int: Entry]>([:])
    private let ttl: TimeAmount
    let capacity: Int

    init(ttl: Duration, capacity: Int = 10_000) {
        self.ttl = TimeAmount(ttl)
        self.capacity = max(1, capacity)
    }

    func caller(secret: Substring, now: NIODeadline = .now()) -> Caller? {
        let key = Self.key(secret)
        return entries.withLock { entries in
            guard let entry = entries[key], Self.same(entry.secret, secret.utf8) else { return nil }
            guard entry.until > now else {
                entries[key] = nil
                return nil
            }
            return entry.caller
        }
    }

    func insert(_ token: APIToken, secret: Substring, now: NIODeadline = .now()) {
        var until = now + ttl
        if let expiresAt = token.expiresAt {
            let left = expiresAt.timeIntervalSinceNow
            until = min(until, now + .nanoseconds(Int64(max(0, left) * 1e9)))
        }
        let key = Self.key(secret)
        let entry = Entry(secret: Array(secret.utf8), caller: Caller(token), until: until)
        entries.withLock { entries in
            if entries[key] == nil, entries.count >= capacity {
                entries = entries.filter { $0.value.until > now }
                // Still full of live entries: drop arbitrary ones (a dropped token is only looked
                // up again), so that the cache never exceeds its capacity.
                while entries.count >= capacity, let any = entries.first { entries[any.key] = nil }
            }
            entries[key] = entry
        }
    }

    private static func key(_ secret: Substring) -> Int {
        var hasher = Hasher()
        let hashed: Void? = secret.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if hashed == nil {
            for byte in secret.utf8 { hasher.combine(byte) }
        }
        return hasher.finalize()
    }

    /// Whether `stored` and `presented` are the same bytes, in a time that depends only on their
    /// length (which the secret's format fixes), never on where they first differ.
    private static func same(_ stored: [UInt8], _ presented: Substring.UTF8View) -> Bool {
        guard stored.count == presented.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(stored, presented) { difference |= a ^ b }
        return difference == 0
    }
}
