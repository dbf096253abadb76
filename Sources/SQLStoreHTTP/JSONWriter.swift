import Foundation
import NIOCore

/// A value the API writes as JSON itself, without `JSONEncoder`.
///
/// Foundation's encoder was most of the server's CPU on read endpoints (key conversion, boxing,
/// NSDecimalNumber, date formatting); the response bodies are few and fixed, so they write their
/// bytes directly. Keys are written in sorted order, so the output is byte for byte what
/// `JSONEncoder` with `.sortedKeys`, `.convertToSnakeCase` and `.iso8601` produced.
protocol JSONWritable {
    func write(to json: inout JSONWriter)
}

/// Appends JSON bytes: the caller writes keys (already snake_case) and values in order.
///
/// The bytes go to an array, copied once into a `ByteBuffer` at the end: each `ByteBuffer` write
/// pays a dynamic exclusivity check on its storage class when inlined here, which made byte-wise
/// writes cost more than the JSON itself.
///
/// Commas need no stack: a container that has just been closed is always a non-empty member of
/// its parent, so one flag for "nothing written yet in the current container" is enough.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    private var atStart = true

    init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    var buffer: ByteBuffer { ByteBuffer(bytes: bytes) }

    mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        atStart = true
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        atStart = false
    }

    mutating func beginArray() {
        bytes.append(UInt8(ascii: "["))
        atStart = true
    }

    mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        atStart = false
    }

    /// `name` must need no escaping: the keys are the API's own snake_case literals.
    mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        append(name)
        append("\":")
        atStart = true  // the value that follows takes no comma
    }

    /// Call before each element of an array.
    mutating func element() {
        separate()
    }

    mutating func array<Element: JSONWritable>(_ elements: [Element]) {
        beginArray()
        for element in elements {
            self.element()
            element.write(to: &self)
        }
        endArray()
    }

    mutating func null() {
        append("null")
        atStart = false
    }

    mutating func bool(_ value: Bool) {
        append(value ? "true" : "false")
        atStart = false
    }

    mutating func integer(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(of: value.magnitude)
        atStart = false
    }

    mutating func integer(_ value: Int32) { integer(Int64(value)) }
    mutating func integer(_ value: Int) { integer(Int64(value)) }

    mutating func integer(_ value: Int64?) {
        if let value { integer(value) } else { null() }
    }

    mutating func string(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    /// RFC 8259 escaping, exactly as `JSONEncoder` with `.withoutEscapingSlashes` does it:
    /// `\"`, `\\`, the short forms `\b \t \n \f \r`, other controls as `\u00xx`; everything
    /// else, including U+2028 and non-ASCII, as plain UTF-8.
    mutating func string(_ value: String) {
        var value = value
        bytes.append(UInt8(ascii: "\""))
        value.withUTF8 { utf8 in
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
                runStart = index + 1
                switch byte {
                case UInt8(ascii: "\""): append("\\\"")
                case UInt8(ascii: "\\"): append("\\\\")
                case 0x08: append("\\b")
                case 0x09: append("\\t")
                case 0x0A: append("\\n")
                case 0x0C: append("\\f")
                case 0x0D: append("\\r")
                default:
                    append("\\u00")
                    bytes.append(Self.hexDigit(byte >> 4))
                    bytes.append(Self.hexDigit(byte & 0x0F))
                }
            }
            if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        }
        bytes.append(UInt8(ascii: "\""))
        atStart = false
    }

    /// Money as a string with exactly two decimals, rounded half away from zero ("12.50").
    mutating func money(_ value: Decimal) {
        guard let (negative, cents) = DecimalParts.cents(of: value) else {
            string(DecimalParts.slowMoneyText(value))
            return
        }
        bytes.append(UInt8(ascii: "\""))
        if negative { bytes.append(UInt8(ascii: "-")) }
        appendDigits(of: cents / 100)
        let fraction = UInt8(cents % 100)
        bytes.append(UInt8(ascii: "."))
        bytes.append(UInt8(ascii: "0") + fraction / 10)
        bytes.append(UInt8(ascii: "0") + fraction % 10)
        bytes.append(UInt8(ascii: "\""))
        atStart = false
    }

    /// RFC 3339 in UTC to the whole second, fractions truncated ("2026-11-21T20:36:34Z"), as
    /// `JSONEncoder`'s `.iso8601` writes it; computed from the Unix time, with no formatter.
    mutating func timestamp(_ date: Date) {
        guard let time = CivilTime(date) else {
            string(date.formatted(Date.ISO8601FormatStyle()))
            return
        }
        withScratch { out in
            func put(_ value: Int, at offset: Int, width: Int) {
                var value = value
                for position in (offset..<offset + width).reversed() {
                    out[position] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value % 10)
                    value /= 10
                }
            }
            out[0] = UInt8(ascii: "\"")
            put(time.year, at: 1, width: 4)
            out[5] = UInt8(ascii: "-")
            put(time.month, at: 6, width: 2)
            out[8] = UInt8(ascii: "-")
            put(time.day, at: 9, width: 2)
            out[11] = UInt8(ascii: "T")
            put(time.hour, at: 12, width: 2)
            out[14] = UInt8(ascii: ":")
            put(time.minute, at: 15, width: 2)
            out[17] = UInt8(ascii: ":")
            put(time.second, at: 18, width: 2)
            out[20] = UInt8(ascii: "Z")
            out[21] = UInt8(ascii: "\"")
            return 0..<22
        }
        atStart = false
    }

    private mutating func separate() {
        if !atStart { bytes.append(UInt8(ascii: ",")) }
        atStart = false
    }

    private mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Decimal digits, formed right to left on the stack and appended at once.
    private mutating func appendDigits(of value: UInt64) {
        withScratch { out in
            var start = out.count
            var rest = value
            repeat {
                start -= 1
                out[start] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest != 0
            return start..<out.count
        }
    }

    /// Fixed-size pieces (numbers, timestamps) are formed in 32 bytes on the stack, then appended
    /// in one call: indexing the array byte by byte checks its uniqueness every time.
    private mutating func withScratch(_ fill: (UnsafeMutableRawBufferPointer) -> Range<Int>) {
        var scratch: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &scratch) { out in
            let written = fill(out)
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: out[written]))
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}

/// A UTC civil date and time from a `Date`, by Howard Hinnant's days-to-civil algorithm.
struct CivilTime: Equatable {
    let year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int

    /// Nil for non-finite dates and years outside 1583...9999, which the caller leaves to
    /// Foundation (before 1583 it uses the Julian calendar; this is proleptic Gregorian).
    init?(_ date: Date) {
        // Floor on the reference-date interval, which is what `Date` stores: converting to
        // Unix time first could round 34.9999999 up to 35.
        let reference = date.timeIntervalSinceReferenceDate.rounded(.down)
        guard reference.isFinite, abs(reference) < 1e12 else { return nil }
        let seconds = Int64(reference) + 978_307_200
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        let year = Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0))
        guard (1583...9999).contains(year) else { return nil }
        (self.year, self.month, self.day) = (year, month, day)
        (hour, minute, second) = (secondOfDay / 3_600, secondOfDay / 60 % 60, secondOfDay % 60)
    }
}

/// Exact money from a `Decimal` through public API only, without NSDecimalNumber's string
/// conversion, which costs microseconds.
enum DecimalParts {
    /// Sign and magnitude in hundredths; nil when the value has more than two decimals or does
    /// not fit 64 bits (never for NUMERIC(10,2) columns), which then take the rounding slow path.
    static func cents(of value: Decimal) -> (negative: Bool, cents: UInt64)? {
        guard value.isFinite else { return nil }
        // Moving the exponent, not multiplying: `value * 100` was 80 % of this function's time.
        let scaled = Decimal(sign: value.sign, exponent: value.exponent + 2, significand: value.significand)
        let whole = NSDecimalNumber(decimal: scaled).int64Value
        guard Decimal(whole) == scaled else { return nil }
        return (whole < 0, whole.magnitude)  // 0 is never "-0.00"
    }

    /// The exact path for any value: what the API sent before the writer existed.
    static func slowMoneyText(_ value: Decimal) -> String {
        var rounded = Decimal()
        var copy = value
        NSDecimalRound(&rounded, &copy, 2, .plain)
        var text = NSDecimalNumber(decimal: rounded).stringValue
        if !text.contains(".") { text += ".00" }
        if let dot = text.firstIndex(of: "."), text.distance(from: dot, to: text.endIndex) == 2 { text += "0" }
        return text
    }
}
