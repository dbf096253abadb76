import Foundation

/// Input rules, checked before any SQL runs so bad input changes nothing and says what is wrong.
enum Validate {
    /// Trimmed of surrounding whitespace, then non-empty. The length is that of the value as sent,
    /// before trimming: the OpenAPI document's `maxLength` reads it so, and the server refuses
    /// exactly what the document does (schemathesis ST201: a name of 255 characters after leading
    /// spaces was accepted against the document's limit).
    static func text(_ value: String, field: String, maxLength: Int) throws -> String {
        // PostgreSQL's VARCHAR(n) and JSON Schema's maxLength count code points, not the
        // grapheme clusters `count` gives.
        guard value.unicodeScalars.count <= maxLength else {
            throw StoreError.invalidInput(field: field, reason: "must be at most \(maxLength) characters, surrounding whitespace included")
        }
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw StoreError.invalidInput(field: field, reason: "must not be empty") }
        return try withoutNUL(trimmed, field: field)
    }

    /// Free text stored as given (not trimmed, may be empty).
    static func freeText(_ value: String?, field: String) throws -> String? {
        try value.map { try withoutNUL($0, field: field) }
    }

    /// PostgreSQL text cannot hold U+0000; refusing it here keeps it from becoming a 22021 error.
    private static func withoutNUL(_ value: String, field: String) throws -> String {
        guard !value.unicodeScalars.contains(where: { $0.value == 0 }) else {
            throw StoreError.invalidInput(field: field, reason: "must not contain NUL characters")
        }
        return value
    }

    /// An `Idempotency-Key`: 1–255 printable ASCII characters, no space at either end, so that
    /// a key means the same to every client, proxy and log that handles it.
    static func idempotencyKey(_ value: String) throws -> String {
        let printable = value.utf8.allSatisfy { (0x20...0x7E).contains($0) }
        guard printable, (1...255).contains(value.utf8.count), value.first != " ", value.last != " " else {
            throw StoreError.invalidInput(
                field: "Idempotency-Key", reason: "must be 1-255 printable ASCII characters, not starting or ending with a space")
        }
        return value
    }

    /// Trimmed; one `@` with something before it and a dotted domain after it; no spaces.
    static func email(_ value: String) throws -> String {
        let email = try text(value, field: "email", maxLength: 255)
        // Code points, as the document's pattern reads them: as Characters, an `@` followed by a
        // combining mark (or an emoji modifier) would be one grapheme and no `@` at all.
        let parts = email.unicodeScalars.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), parts[1].first != ".",
            parts[1].last != ".", !email.unicodeScalars.contains(where: \.properties.isWhitespace)
        else {
            throw StoreError.invalidInput(field: "email", reason: "must be an email address such as ada@example.com")
        }
        return email
    }

    /// At least zero, at most two decimal places, and within NUMERIC(10,2).
    static func price(_ value: Decimal) throws -> Decimal {
        guard value >= 0 else { throw StoreError.invalidInput(field: "price", reason: "must be at least 0") }
        guard value < Decimal(100_000_000) else {
            throw StoreError.invalidInput(field: "price", reason: "must be less than 100000000")
        }
        var rounded = Decimal()
        var copy = value
        NSDecimalRound(&rounded, &copy, 2, .plain)
        guard rounded == value else { throw StoreError.invalidInput(field: "price", reason: "must have at most 2 decimal places") }
        return value
    }

    static func stock(_ value: Int, field: String = "stock_quantity") throws -> Int32 {
        guard value >= 0 else { throw StoreError.invalidInput(field: field, reason: "must be at least 0") }
        guard let stock = Int32(exactly: value) else {
            throw StoreError.invalidInput(field: field, reason: "must be at most \(Int32.max)")
        }
        return stock
    }

    static func slug(_ value: String) throws -> String {
        let slug = try text(value, field: "slug", maxLength: 100)
        let valid = slug.split(separator: "-", omittingEmptySubsequences: false).allSatisfy { part in
            !part.isEmpty && part.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber) }
        }
        guard valid else {
            throw StoreError.invalidInput(field: "slug", reason: "lower-case letters and digits, in words joined by single hyphens")
        }
        return slug
    }

    static func page(_ page: Int?) throws -> Int {
        let page = page ?? 1
        guard (1...1_000_000).contains(page) else {
            throw StoreError.invalidParameter(name: "page", reason: "must be from 1 to 1000000")
        }
        return page
    }
}
