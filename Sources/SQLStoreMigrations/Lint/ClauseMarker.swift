/// Finds a clause in one line of SQL as PostgreSQL's lexer would read it: by whole tokens, so
/// `CHAR` is not found inside `VARCHAR`, nor `TYPE` inside `type_code`, and never inside a
/// quoted identifier, a string or a comment. Text output puts its carets under the match.
struct ClauseMarker {
    struct Token {
        enum Kind {
            case word
            case literal
            case symbol
        }

        let kind: Kind
        /// Words upper-case; literals and symbols as written.
        let text: String
        /// Offsets in characters of the line: the token is `start..<end`.
        let start: Int
        let end: Int
    }

    let tokens: [Token]

    init(_ line: String) {
        tokens = Self.tokenize(Array(line))
    }

    /// The character range of the first place where the tokens of `clause` follow one another
    /// (whatever the spacing between them), or nil.
    func range(of clause: String) -> Range<Int>? {
        let wanted = Self.tokenize(Array(clause))
        guard !wanted.isEmpty, wanted.count <= tokens.count else { return nil }
        for first in 0...(tokens.count - wanted.count) {
            let candidate = tokens[first..<first + wanted.count]
            if zip(candidate, wanted).allSatisfy({ $0.kind == $1.kind && $0.text == $1.text }) {
                return candidate[first].start..<candidate[first + wanted.count - 1].end
            }
        }
        return nil
    }

    /// Carets under the first of `clauses` found in `line`, with the spaces before them.
    static func marker(in line: String, clauses: [String]) -> String? {
        let marker = ClauseMarker(line)
        for clause in clauses {
            guard let range = marker.range(of: clause) else { continue }
            return String(repeating: " ", count: range.lowerBound) + String(repeating: "^", count: range.count)
        }
        return nil
    }

    private static func tokenize(_ characters: [Character]) -> [Token] {
        var tokens: [Token] = []
        var index = 0
        let count = characters.count
        func at(_ position: Int) -> Character? { position < count ? characters[position] : nil }
        while index < count {
            let character = characters[index]
            let start = index
            if character.isWhitespace {
                index += 1
            } else if character == "-" && at(index + 1) == "-" {
                break  // a comment to the end of the line
            } else if character == "/" && at(index + 1) == "*" {
                index += 2
                while index < count, !(characters[index] == "*" && at(index + 1) == "/") { index += 1 }
                index = min(index + 2, count)
            } else if character == "'" {
                // A string; E'…' strings are lexed the same, close enough for one line.
                index = SourceText.endOfQuoted(characters, openingAt: index)
                tokens.append(Token(kind: .literal, text: String(characters[start..<index]), start: start, end: index))
            } else if character == "\"" {
                // A quoted identifier: never a keyword, so never part of a clause.
                index = SourceText.endOfQuoted(characters, openingAt: index)
            } else if character == "$", let tagEnd = dollarTagEnd(characters, from: index) {
                // A dollar-quoted body: skip to its closing tag, or to the end of the line.
                let tag = characters[index..<tagEnd]
                index = tagEnd
                while index < count, !characters[index...].starts(with: tag) { index += 1 }
                index = min(index + tag.count, count)
            } else if SourceText.isWordCharacter(character) {
                while index < count, SourceText.isWordCharacter(characters[index]) { index += 1 }
                tokens.append(
                    Token(kind: .word, text: String(characters[start..<index]).uppercased(), start: start, end: index))
            } else {
                index += 1
                tokens.append(Token(kind: .symbol, text: String(character), start: start, end: index))
            }
        }
        return tokens
    }

    /// For `$tag$` or `$$` at `index`: the index after its second `$`.
    private static func dollarTagEnd(_ characters: [Character], from index: Int) -> Int? {
        var position = index + 1
        while position < characters.count, characters[position] != "$" {
            guard characters[position] == "_" || characters[position].isLetter
                || (position > index + 1 && characters[position].isNumber)
            else { return nil }
            position += 1
        }
        return position < characters.count ? position + 1 : nil
    }
}
