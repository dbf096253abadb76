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
    private struct State {
        var entries: [Int: Entry] = [:]
        /// Tokens revoked through this instance, and until when an entry for them must not be
        /// cached: a look-up that started before the revocation may finish after it.
        var revoked: [Int64: NIODeadline] = [:]
    }
    private let state = Mutex(State())
    private let ttl: TimeAmount
    let capacity: Int

    init(ttl: Duration, capacity: Int = 10_000) {
        self.ttl = TimeAmount(ttl)
        self.capacity = max(1, capacity)
    }

    func caller(secret: Substring, now: NIODeadline = .now()) -> Caller? {
        let key = Self.key(secret)
        return state.withLock { state in
            guard let entry = state.entries[key], Self.same(entry.secret, secret.utf8) else { return nil }
            guard entry.until > now else {
                state.entries[key] = nil
                return nil
            }
            return entry.caller
        }
    }

    /// Trusts `caller`, verified with `secret`, for the TTL, or until `expiresAt` if sooner; a
    /// token revoked through this instance meanwhile is not cached.
    func insert(_ caller: Caller, secret: Substring, expiresAt: Date?, now: NIODeadline = .now()) {
        var until = now + ttl
        // Compared in seconds before converting: a token that expires centuries from now (made
        // by SQL, or before lifetimes were capped) must not overflow the nanoseconds.
        if let expiresAt, case let left = max(0, expiresAt.timeIntervalSinceNow), left < Double(ttl.nanoseconds) / 1e9 {
            until = now + .nanoseconds(Int64(left * 1e9))
        }
        let key = Self.key(secret)
        let entry = Entry(secret: Array(secret.utf8), caller: caller, until: until)
        state.withLock { state in
            if let tokenId = caller.tokenId, let revoked = state.revoked[tokenId], revoked > now { return }
            if state.entries[key] == nil, state.entries.count >= capacity {
                state.entries = state.entries.filter { $0.value.until > now }
                // Still full of live entries: drop arbitrary ones (a dropped token is only looked
                // up again), so that the cache never exceeds its capacity.
                while state.entries.count >= capacity, let any = state.entries.first { state.entries[any.key] = nil }
            }
            state.entries[key] = entry
        }
    }

    /// Forgets the token `tokenId` at once (it was revoked through this instance), and keeps it
    /// out of the cache for a TTL, in case a look-up of it that began before the revocation
    /// answers after it. Walks every entry: revocations are rare; requests never wait on this
    /// longer than one walk of at most ``capacity`` entries.
    func remove(tokenId: Int64, now: NIODeadline = .now()) {
        state.withLock { state in
            state.revoked = state.revoked.filter { $0.value > now }
            state.revoked[tokenId] = now + ttl
            state.entries = state.entries.filter { $0.value.caller.tokenId != tokenId }
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
