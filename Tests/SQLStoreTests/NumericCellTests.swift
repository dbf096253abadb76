import Foundation
import PostgresNIO
@testable import SQLStore
import Testing
import TestSupport

@Suite("NUMERIC decoding")
struct NumericCellTests {
    @Test("NUMERIC cells read from the binary form equal what PostgreSQL prints, digit for digit; long values, NaN and infinities fall back")
    func numericCellsMatchPostgreSQLText() async throws {
        let fixed = [
            "0", "0.00", "0.01", "0.10", "1", "9.99", "10", "10000", "12.34", "100000000", "99999999.99", "-5.25",
            "-0.01", "0.00000001", "1e-20", "123456789012.3456", "9999999999999999", "12345678901234567",
            "1234567890.123456789", "1e30", "'NaN'", "'Infinity'", "'-Infinity'",
        ]
        let generated = "SELECT ((random() - 0.1) * 10 ^ (random() * 12 - 4))::numeric(20, 4) FROM generate_series(1, 2000)"
        try await TestDatabase.withFresh { database in
            try await database.withConnection { connection in
                let values = fixed.map { "SELECT \($0)::numeric" }.joined(separator: " UNION ALL ") + " UNION ALL " + generated
                let rows = try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT v, v::text FROM (\(values)) AS t(v)"), logger: TestDatabase.logger)
                var fast = 0
                for try await row in rows {
                    let cells = row.makeRandomAccess()
                    let text = try cells[1].decode(String.self)
                    let decoded = try cells[0].decode(NumericCell.self).decimal
                    let digits = text.filter(\.isNumber).drop { $0 == "0" }.reversed().drop { $0 == "0" }.count
                    if let bytes = cells[0].bytes, let read = NumericCell.read(bytes) {
                        fast += 1
                        #expect(read == decoded)
                    } else {
                        #expect(digits > 16 || !text.contains(where: \.isNumber), "\(text) was not read from its binary form")
                    }
                    // Whatever the path, the value is the one PostgresNIO's own decoding gives...
                    let theirs = try cells[0].decode(Decimal.self)
                    #expect(decoded == theirs || (decoded.isNaN && theirs.isNaN), "\(text): \(decoded) against \(theirs)")
                    // ...and for numbers, the one PostgreSQL prints, to the digit.
                    if let printed = Decimal(string: text) {
                        #expect(decoded == printed && decoded.description == printed.description, "\(text) read as \(decoded)")
                    }
                }
                #expect(fast > 2000, "only \(fast) values were read from the binary form")
            }
        }
    }
}
