import Foundation
@testable import SQLStore
import Testing

@Suite("Base64URL")
struct Base64URLTests {
    @Test("spells every byte string as Foundation's base64 does, with - and _ and no padding, and reads it back")
    func matchesFoundation() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...64 {
            for _ in 0..<20 {
                let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
                let expected = Data(bytes).base64EncodedString()
                    .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                    .replacingOccurrences(of: "=", with: "")
                let text = Base64URL.encode(bytes)
                #expect(text == expected)
                #expect(Base64URL.decode(text) == bytes)
            }
        }
    }

    @Test("reads only the canonical spelling: no other alphabet, padding, impossible length or stray low bits")
    func refusesOtherSpellings() {
        #expect(Base64URL.decode("AA") == [0])
        for text in ["AB", "AAB", "A", "AAAAA", "AA==", "+/8", "a b", "é"] {
            #expect(Base64URL.decode(text) == nil, "\(text)")
        }
    }
}
