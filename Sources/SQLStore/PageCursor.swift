import Crypto
import Foundation

/// The position after the last order of a page: its `created_at` in microseconds since the
/// epoch (exact: PostgreSQL keeps microseconds, which a `Date` can round) and its id.
///
/// On the wire it is opaque: base64url of the two numbers and an HMAC-SHA256 tag over them and
/// the list they belong to, so a cursor that is malformed, edited, or taken from another list
/// is refused rather than silently reading the wrong rows.
struct PageCursor: Equatable {
    let createdAtMicros: Int64
    let id: Int64

    static let tagLength = 16

    func encode(scope: String, key: SymmetricKey) -> String {
        var payload: [UInt8] = []
        payload.reserveCapacity(16 + Self.tagLength)
        withUnsafeBytes(of: createdAtMicros.bigEndian) { payload.append(contentsOf: $0) }
        withUnsafeBytes(of: id.bigEndian) { payload.append(contentsOf: $0) }
        return Base64URL.encode(payload + Self.tag(payload, scope: scope, key: key))
    }

    init(createdAtMicros: Int64, id: Int64) {
        self.createdAtMicros = createdAtMicros
        self.id = id
    }

    init(decoding text: String, scope: String, key: SymmetricKey) throws {
        let invalid = StoreError.invalidCursor
        // One spelling per cursor (Base64URL.decode): no edited cursor is accepted because it
        // happens to decode to the same bytes.
        guard text.utf8.count <= 64, let data = Base64URL.decode(text), data.count == 16 + Self.tagLength
        else { throw invalid }
        let payload = data[0..<16]
        let expected = Self.tag(payload, scope: scope, key: key)
        let given = data[16...]
        // Constant time: how much of a forged tag matched must not show in the timing.
        guard zip(expected, given).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else { throw invalid }
        func int64(_ range: Range<Int>) -> Int64 {
            data[range].reduce(Int64(0)) { ($0 << 8) | Int64($1) }
        }
        self.init(createdAtMicros: int64(0..<8), id: int64(8..<16))
        guard id > 0 else { throw invalid }
    }

    private static func tag(_ payload: some DataProtocol, scope: String, key: SymmetricKey) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: key)
        hmac.update(data: Array(scope.utf8))
        hmac.update(data: payload)
        return Array(hmac.finalize().prefix(tagLength))
    }
}
