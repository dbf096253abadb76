import Foundation
import PostgresNIO

/// A NUMERIC cell read as a `Decimal` straight from PostgreSQL's binary form: a sign, a weight
/// and base-10 000 digits. PostgresNIO's own `Decimal` decoding formats the number as text and
/// parses that back, which cost 3 % of the server's CPU per order (three money cells per line).
///
/// Up to 16 significant digits (every NUMERIC(10,2) money column) are read here; longer values,
/// NaN and the infinities take PostgresNIO's path.
struct NumericCell: PostgresDecodable {
    let decimal: Decimal

    init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat,
        context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        if format == .binary, type == .numeric, let decimal = Self.read(buffer) {
            self.decimal = decimal
        } else {
            decimal = try Decimal(from: &buffer, type: type, format: format, context: context)
        }
    }

    /// The value of a binary NUMERIC, or nil when it is not a finite number of at most four
    /// base-10 000 digits.
    static func read(_ buffer: ByteBuffer) -> Decimal? {
        var buffer = buffer
        guard let (count, weight, sign, _) = buffer.readMultipleIntegers(as: (Int16, Int16, UInt16, UInt16).self),
            (0...4).contains(count), sign == 0x0000 || sign == 0x4000, buffer.readableBytes == Int(count) * 2
        else { return nil }
        var significand: UInt64 = 0
        for _ in 0..<count {
            guard let digit = buffer.readInteger(as: Int16.self), (0..<10_000).contains(digit) else { return nil }
            significand = significand * 10_000 + UInt64(digit)
        }
        guard significand != 0 else { return 0 }
        // The last digit read stands for 10 000^(weight - count + 1).
        let exponent = 4 * (Int(weight) - Int(count) + 1)
        return Decimal(sign: sign == 0x4000 ? .minus : .plus, exponent: exponent, significand: Decimal(significand))
    }
}
