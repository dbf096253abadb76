/// A token of a statement's skeleton. The skeleton has no comments and its literals are `'?'`,
/// so a token is a keyword or unquoted name (upper-case), a quoted identifier, a literal, or
/// one punctuation character.
struct SkeletonToken: Hashable {
    enum Kind: Hashable {
        case word
        case quotedIdentifier
        case literal
        case symbol
    }

    let kind: Kind
    /// Words upper-case as in the skeleton; quoted identifiers with their quotes; symbols as is.
    let text: String

    /// The identifier a name token denotes: unquoted names fold to lower case, quoted ones are
    /// taken as written.
    var identifier: String? {
        switch kind {
        case .word:
            return text.lowercased()
        case .quotedIdentifier:
            var inner = text
            if inner.hasPrefix("U&") { inner.removeFirst(2) }
            return String(inner.dropFirst().dropLast()).replacingDoubledQuotes()
        case .literal, .symbol:
            return nil
        }
    }
}

extension String {
    fileprivate func replacingDoubledQuotes() -> String {
        var result = ""
        var previousWasQuote = false
        for character in self {
            if character == "\"" && previousWasQuote {
                previousWasQuote = false
                continue
            }
            previousWasQuote = character == "\""
            result.append(character)
        }
        return result
    }
}

/// The tokens of one statement, with the small parsing helpers the lint rules need.
struct SkeletonTokens {
    let tokens: [SkeletonToken]

    init(_ skeleton: String) {
        tokens = Self.tokenize(skeleton)
    }

    init(tokens: [SkeletonToken]) {
        self.tokens = tokens
    }

    var count: Int { tokens.count }

    subscript(index: Int) -> SkeletonToken? { index >= 0 && index < tokens.count ? tokens[index] : nil }

    /// The upper-case keyword at `index`, or nil if that token is not an unquoted word.
    func word(at index: Int) -> String? {
        guard let token = self[index], token.kind == .word else { return nil }
        return token.text
    }

    func isWord(_ index: Int, _ keyword: String) -> Bool { word(at: index) == keyword }

    func isSymbol(_ index: Int, _ symbol: String) -> Bool {
        guard let token = self[index] else { return false }
        return token.kind == .symbol && token.text == symbol
    }

    /// True when the words starting at `index` are `keywords`, in order.
    func matches(_ keywords: [String], at index: Int) -> Bool {
        keywords.enumerated().allSatisfy { offset, keyword in isWord(index + offset, keyword) }
    }

    /// Skips the optional words at `index`, returning the index after them.
    func skipping(_ keywords: [String], at index: Int) -> Int {
        matches(keywords, at: index) ? index + keywords.count : index
    }

    /// True when the words appear consecutively anywhere at parenthesis depth 0 of `range`.
    func containsTopLevel(_ keywords: [String], in range: Range<Int>? = nil) -> Bool {
        firstTopLevel(keywords, in: range) != nil
    }

    func firstTopLevel(_ keywords: [String], in range: Range<Int>? = nil) -> Int? {
        let range = range ?? 0..<count
        var depth = 0
        for index in range {
            if isSymbol(index, "(") { depth += 1 }
            if isSymbol(index, ")") { depth -= 1 }
            if depth == 0, index + keywords.count <= range.upperBound, matches(keywords, at: index) { return index }
        }
        return nil
    }

    /// True when the words appear consecutively anywhere in `range`, at any depth.
    func contains(_ keywords: [String], in range: Range<Int>? = nil) -> Bool {
        let range = range ?? 0..<count
        return range.contains { index in index + keywords.count <= range.upperBound && matches(keywords, at: index) }
    }

    /// A possibly schema-qualified name at `index`: its last part, normalized, and the index after it.
    func qualifiedName(at index: Int) -> (name: String, next: Int)? {
        guard let first = self[index]?.identifier else { return nil }
        var name = first
        var next = index + 1
        while isSymbol(next, "."), let part = self[next + 1]?.identifier {
            name = part
            next += 2
        }
        return (name, next)
    }

    /// For `(` at `index`: the index just after its matching `)`.
    func closingParenthesis(from index: Int) -> Int? {
        guard isSymbol(index, "(") else { return nil }
        var depth = 0
        for position in index..<count {
            if isSymbol(position, "(") { depth += 1 }
            if isSymbol(position, ")") {
                depth -= 1
                if depth == 0 { return position + 1 }
            }
        }
        return nil
    }

    /// The ranges between commas at the depth of `range` (commas inside parentheses do not split).
    func splitByCommas(_ range: Range<Int>) -> [Range<Int>] {
        var parts: [Range<Int>] = []
        var depth = 0
        var start = range.lowerBound
        for index in range {
            if isSymbol(index, "(") { depth += 1 }
            if isSymbol(index, ")") { depth -= 1 }
            if depth == 0 && isSymbol(index, ",") {
                parts.append(start..<index)
                start = index + 1
            }
        }
        if start < range.upperBound { parts.append(start..<range.upperBound) }
        return parts
    }

    /// The names of a parenthesized column list at `index` (nil where an element is an expression),
    /// and the index after it.
    func columnList(at index: Int) -> (columns: [String?], next: Int)? {
        guard let end = closingParenthesis(from: index) else { return nil }
        let columns = splitByCommas(index + 1..<end - 1).map { part -> String? in
            part.count == 1 ? self[part.lowerBound]?.identifier : nil
        }
        return (columns, end)
    }

    /// The type written at `range`, in a normal form for comparing: `CHARACTER VARYING(50)` is
    /// `VARCHAR(50)`, `DECIMAL` is `NUMERIC`.
    func typeName(_ range: Range<Int>) -> String {
        var text = ""
        var previousWasWord = false
        for index in range {
            guard let token = self[index] else { continue }
            let isWord = token.kind == .word
            if isWord && previousWasWord { text += " " }
            text += token.text
            previousWasWord = isWord
        }
        if text.hasPrefix("PG_CATALOG.") { text.removeFirst("PG_CATALOG.".count) }
        let aliases: [(String, String)] = [
            ("CHARACTER VARYING", "VARCHAR"), ("DECIMAL", "NUMERIC"), ("INTEGER", "INT"), ("INT4", "INT"),
            ("INT8", "BIGINT"), ("INT2", "SMALLINT"), ("BOOL", "BOOLEAN"),
        ]
        for (alias, canonical) in aliases
        where text == alias || text.hasPrefix(alias + "(") || text.hasPrefix(alias + "[") {
            text = canonical + text.dropFirst(alias.count)
            break
        }
        return text
    }

    private static func tokenize(_ skeleton: String) -> [SkeletonToken] {
        let bytes = Array(skeleton.utf8)
        var tokens: [SkeletonToken] = []
        var index = 0
        func isWordByte(_ c: UInt8) -> Bool {
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x24
                || c >= 0x80
        }
        func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        while index < bytes.count {
            let c = bytes[index]
            let start = index
            if c == UInt8(ascii: " ") {
                index += 1
            } else if c == UInt8(ascii: "'") {
                // Always the placeholder `'?'`.
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "'") { index += 1 }
                index = min(index + 1, bytes.count)
                tokens.append(SkeletonToken(kind: .literal, text: text(start..<index)))
            } else if c == UInt8(ascii: "\"")
                || (c == UInt8(ascii: "U") && index + 2 < bytes.count && bytes[index + 1] == UInt8(ascii: "&")
                    && bytes[index + 2] == UInt8(ascii: "\""))
            {
                index += c == UInt8(ascii: "\"") ? 1 : 3
                while index < bytes.count {
                    if bytes[index] == UInt8(ascii: "\"") {
                        if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\"") {
                            index += 2
                            continue
                        }
                        index += 1
                        break
                    }
                    index += 1
                }
                tokens.append(SkeletonToken(kind: .quotedIdentifier, text: text(start..<index)))
            } else if isWordByte(c) {
                while index < bytes.count, isWordByte(bytes[index]) { index += 1 }
                tokens.append(SkeletonToken(kind: .word, text: text(start..<index)))
            } else {
                index += 1
                tokens.append(SkeletonToken(kind: .symbol, text: text(start..<index)))
            }
        }
        return tokens
    }
}
