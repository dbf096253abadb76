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
        var payload = Data()
        withUnsafeBytes(of: createdAtMicros.bigEndian) { payload.append(contentsOf: $0) }
        withUnsafeBytes(of: id.bigEndian) { payload.append(contentsOf: $0) }
        return Self.base64url(payload + Self.tag(payload, scope: scope, key: key))
    }

    private static func base64url(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    init(createdAtMicros: Int64, id: Int64) {
        self.createdAtMicros = createdAtMicros
        self.id = id
    }

    init(decoding text: String, scope: String, key: SymmetricKey) throws {
        let invalid = StoreError.invalidCursor
        guard text.count <= 64, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { throw invalid }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        // One spelling per cursor: the last character's unused low bits must be zero, so that no
        // edited cursor is accepted because it happens to decode to the same bytes.
        guard let data = Data(base64Encoded: base64), data.count == 16 + Self.tagLength, Self.base64url(data) == text
        else { throw invalid }
        let payload = data.prefix(16)
        let expected = [UInt8](Self.tag(Data(payload), scope: scope, key: key))
        let given = [UInt8](data.suffix(Self.tagLength))
        // Constant time: how much of a forged tag matched must not show in the timing.
        guard zip(expected, given).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else { throw invalid }
        let bytes = [UInt8](payload)
        func int64(_ range: Range<Int>) -> Int64 {
            bytes[range].reduce(Int64(0)) { ($0 << 8) | Int64($1) }
        }
        self.init(createdAtMicros: int64(0..<8), id: int64(8..<16))
        guard id > 0 else { throw invalid }
    }

    private static func tag(_ payload: Data, scope: String, key: SymmetricKey) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data(scope.utf8) + payload, using: key)).prefix(tagLength)
    }
}
