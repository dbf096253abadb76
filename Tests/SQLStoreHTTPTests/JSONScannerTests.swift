import Foundation
import NIOCore
import Testing

@testable import SQLStoreHTTP

/// The fast reader of order bodies (`JSONScanner`) may only ever spare `JSONDecoder` work: for
/// every body, it either reads exactly what `JSONDecoder` reads, or reads nothing and leaves the
/// body, errors included, to `JSONDecoder`.
@Suite("JSON scanner")
struct JSONScannerTests {
    /// What a body decodes to, comparable: the user and each line's product and quantity.
    typealias Reading = (userId: Int64?, lines: [[Int64]])

    static func scanned(_ body: String) -> Reading? {
        var json = JSONScanner(ByteBuffer(string: body))
        return CreateOrderRequest(scanning: &json).map(reading)
    }

    static func decoded(_ body: String) -> Reading? {
        (try? JSONBody.makeDecoder().decode(CreateOrderRequest.self, from: Data(body.utf8))).map(reading)
    }

    static func reading(_ request: CreateOrderRequest) -> Reading {
        (request.userId, request.items.map { [$0.productId, Int64($0.quantity)] })
    }

    /// The property every test here checks, for one body.
    static func expectAgreement(_ body: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let scanned = scanned(body) else { return }
        let decoded = decoded(body)
        #expect(decoded != nil, "the scanner accepted a body JSONDecoder refuses: \(body)", sourceLocation: sourceLocation)
        #expect(
            decoded.map { $0.userId == scanned.userId && $0.lines == scanned.lines } ?? false,
            "the scanner read \(scanned) where JSONDecoder read \(String(describing: decoded)): \(body)",
            sourceLocation: sourceLocation)
    }

    @Test("the bodies clients send are read by the scanner, as JSONDecoder reads them")
    func usualBodies() throws {
        let bodies = [
            #"{"user_id":7,"items":[{"product_id":12,"quantity":1},{"product_id":13,"quantity":2}]}"#,
            "{ \"items\" : [ { \"quantity\" : 3 , \"product_id\" : 0 } ] ,\n\t\"user_id\" : 900719925474099 }\r\n",
            #"{"user_id":1,"items":[]}"#,
        ]
        for body in bodies {
            let scanned = try #require(Self.scanned(body), "not read by the scanner: \(body)")
            let decoded = try #require(Self.decoded(body))
            #expect(scanned.userId == decoded.userId && scanned.lines == decoded.lines)
        }
        #expect(Self.scanned(bodies[1])?.lines == [[0, 3]])
    }

    @Test("anything unusual is left to JSONDecoder: other keys, repeats, signs, fractions, escapes, null, extra bytes")
    func unusualBodies() {
        let bodies = [
            #"{"userId":7,"items":[]}"#,  // JSONDecoder's snake_case conversion accepts this one
            #"{"user_id":7,"user_id":8,"items":[]}"#,
            #"{"user_id":7,"items":[],"note":"x"}"#,
            #"{"user_id":-7,"items":[]}"#,
            #"{"user_id":07,"items":[]}"#,
            #"{"user_id":7.0,"items":[]}"#,
            #"{"user_id":7e0,"items":[]}"#,
            #"{"user_id":1234567890123456789,"items":[]}"#,
            #"{"user_id":99999999999999999999,"items":[]}"#,
            #"{"user\u005fid":7,"items":[]}"#,
            #"{"user_id":null,"items":[]}"#,
            #"{"user_id":"7","items":[]}"#,
            #"{"user_id":7,"items":[{"product_id":1}]}"#,
            #"{"user_id":7,"items":[{"product_id":1,"quantity":1},]}"#,
            #"{"user_id":7,"items":[{"product_id":1,"quantity":1}]} x"#,
            #"{"user_id":7,"items":{}}"#,
            #"{"user_id":7}"#,
            "\u{FEFF}{\"user_id\":7,\"items\":[]}",
            #"[{"user_id":7,"items":[]}]"#,
            "",
        ]
        for body in bodies {
            #expect(Self.scanned(body) == nil, "the scanner read an unusual body: \(body)")
            Self.expectAgreement(body)
        }
    }

    @Test("20,000 random mutations of an order body: whatever the scanner reads, JSONDecoder reads the same")
    func mutations() {
        var random = SplitMix64(seed: 20_261_122)
        let base = Array(#"{"user_id": 42, "items": [{"product_id": 7, "quantity": 10}, {"product_id": 8, "quantity": 1}]}"#.utf8)
        let alphabet = Array(#"{}[]:,"0123456789-+.eE \n\tnull_abcdiqtuyp\"#.utf8)
        var read = 0
        for _ in 0..<20_000 {
            var body = base
            for _ in 0...random.next(below: 3) {
                let at = random.next(below: body.count + 1)
                switch random.next(below: 3) {
                case 0: body.insert(alphabet[random.next(below: alphabet.count)], at: at)
                case 1: if at < body.count { body.remove(at: at) }
                default: if at < body.count { body[at] = alphabet[random.next(below: alphabet.count)] }
                }
            }
            let text = String(decoding: body, as: UTF8.self)
            if Self.scanned(text) != nil { read += 1 }
            Self.expectAgreement(text)
        }
        // Many mutations (a space, a changed digit) leave a body the scanner still reads.
        #expect(read > 300, "the scanner read only \(read) of the mutated bodies")
    }
}

/// A small seeded generator, so a failure can be replayed.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next(below bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}
