/// One statement of a migration file, as the runner sends it to PostgreSQL.
///
/// PostgresNIO speaks only the extended protocol, which accepts one statement per query, so a
/// file is split here, by a lexer that follows PostgreSQL's own and psql's rules.
public struct SQLStatement: Sendable, Hashable {
    /// The exact source text from the first token to the last, without the terminating `;`.
    /// Comments inside the statement are kept; comments and whitespace around it are not.
    public var text: String
    /// 1-based line of the statement's first token in the file.
    public var line: Int
    /// The statement reduced for keyword matching: comments removed, every string literal
    /// (`'…'`, `E'…'`, `U&'…'`, `$tag$…$tag$`) replaced by `'?'`, quoted identifiers kept as
    /// written, whitespace runs collapsed to one space, everything else upper-cased.
    /// `CREATE INDEX CONCURRENTLY "Ix" ON t (a) WHERE b = 'x'` becomes
    /// `CREATE INDEX CONCURRENTLY "Ix" ON T (A) WHERE B = '?'`.
    public var skeleton: String
    /// A top-level `BEGIN`, `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK`, `ABORT`,
    /// `SAVEPOINT`, `RELEASE`, `PREPARE TRANSACTION` or `COMMIT`/`ROLLBACK PREPARED`: statements
    /// that would end or split the transaction the runner wraps a migration in.
    public var isTransactionControl: Bool

    public init(text: String, line: Int, skeleton: String, isTransactionControl: Bool) {
        self.text = text
        self.line = line
        self.skeleton = skeleton
        self.isTransactionControl = isTransactionControl
    }
}

/// A file the splitter cannot cut into statements safely, with the line where the problem began.
public struct SQLSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public let line: Int
    public let message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "line \(line): \(message)" }
}

/// Splits a SQL file into statements the way psql does.
///
/// Understands standard strings (`''` escapes; backslash is literal, as with
/// `standard_conforming_strings` on), `E'…'` strings with backslash escapes, `U&'…'`, `B'…'`,
/// `X'…'`, quoted identifiers, `$tag$…$tag$` bodies, `$1` parameters, identifiers containing `$`,
/// `--` comments and nested `/* */` comments. Like psql it does not split inside parentheses, nor
/// inside the `BEGIN ATOMIC … END` body of `CREATE [OR REPLACE] FUNCTION|PROCEDURE`. Empty
/// statements are dropped; the last statement needs no `;`.
public enum SQLSplitter {
    /// Splits `sql` into its statements, each with its line.
    ///
    /// - Throws: ``SQLSyntaxError`` for an unterminated literal, quoted identifier, dollar quote,
    ///   comment, parenthesis or `BEGIN ATOMIC` body (at the line where it began), and for psql
    ///   meta-commands, which PostgreSQL itself would not understand.
    public static func split(_ sql: String) throws(SQLSyntaxError) -> [SQLStatement] {
        var lexer = StatementLexer(bytes: Array(sql.utf8))
        let statements: [SQLStatement]
        do {
            statements = try lexer.run()
        } catch {
            // The rows after a COPY … FROM stdin are not SQL: report the COPY, not what follows.
            if let first = lexer.psqlOnly.first, first.line <= error.line { throw first }
            throw error
        }
        if let first = lexer.psqlOnly.first { throw first }
        return statements
    }

    /// Every use of syntax only psql understands, each with its line: meta-commands (`\set`,
    /// `\i`, …), variable interpolation outside literals and comments (`:var`, `:'var'`,
    /// `:"var"`) and `COPY … FROM stdin`, whose data follows in the file. Unlike ``split(_:)``,
    /// it goes on past the first, so a file's problems are all reported in one run.
    public static func psqlOnlySyntax(_ sql: String) -> [SQLSyntaxError] {
        var lexer = StatementLexer(bytes: Array(sql.utf8))
        lexer.collectsMetaCommands = true
        _ = try? lexer.run()
        return lexer.psqlOnly
    }
}

// MARK: - Lexer

private enum Byte {
    static let newline = UInt8(ascii: "\n")
    static let quote = UInt8(ascii: "'")
    static let doubleQuote = UInt8(ascii: "\"")
    static let dollar = UInt8(ascii: "$")
    static let backslash = UInt8(ascii: "\\")
    static let semicolon = UInt8(ascii: ";")
    static let openParen = UInt8(ascii: "(")
    static let closeParen = UInt8(ascii: ")")
    static let minus = UInt8(ascii: "-")
    static let slash = UInt8(ascii: "/")
    static let star = UInt8(ascii: "*")
    static let ampersand = UInt8(ascii: "&")
    static let dot = UInt8(ascii: ".")
    static let space = UInt8(ascii: " ")
    static let questionMark = UInt8(ascii: "?")
    static let colon = UInt8(ascii: ":")

    /// PostgreSQL's whitespace: space, tab, newline, carriage return, form feed, vertical tab.
    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
    /// Bytes of multi-byte UTF-8 characters are identifier characters, as in PostgreSQL's scanner.
    static func isIdentStart(_ c: UInt8) -> Bool { isLetter(c) || c == 0x5F || c >= 0x80 }
    static func isIdentContinue(_ c: UInt8) -> Bool { isIdentStart(c) || isDigit(c) || c == dollar }
    static func isDollarTagContinue(_ c: UInt8) -> Bool { isIdentStart(c) || isDigit(c) }
    static func upper(_ c: UInt8) -> UInt8 { c >= 0x61 && c <= 0x7A ? c - 0x20 : c }
    static func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c + 0x20 : c }
}

private struct StatementLexer {
    let bytes: [UInt8]
    var position = 0
    var line = 1
    var statements: [SQLStatement] = []

    // The statement being read.
    var start: Int?
    var startLine = 0
    var lastTokenEnd = 0
    var skeleton: [UInt8] = []
    var pendingSpace = false
    /// Lines of the open parentheses, innermost last.
    var openParens: [Int] = []
    /// Lines of the open `BEGIN`/`CASE` blocks of a SQL-standard function body, innermost last.
    var openBlocks: [Int] = []
    /// psql's heuristic for `CREATE [OR REPLACE] FUNCTION|PROCEDURE`: the first letters of the
    /// statement's first four identifiers when they are one of those keywords.
    var identifierCount = 0
    var heads: [UInt8] = [0, 0, 0, 0]
    /// psql-only syntax found so far (see ``SQLSplitter/psqlOnlySyntax(_:)``).
    var psqlOnly: [SQLSyntaxError] = []
    /// Record a meta-command and skip its line, instead of stopping there.
    var collectsMetaCommands = false

    init(bytes: [UInt8]) {
        self.bytes = bytes
        // A UTF-8 byte order mark is not SQL; editors on Windows add one.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
    }

    func byte(at index: Int) -> UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func run() throws(SQLSyntaxError) -> [SQLStatement] {
        while position < bytes.count {
            let c = bytes[position]
            switch c {
            case Byte.newline:
                line += 1
                position += 1
                pendingSpace = true
            case _ where Byte.isSpace(c):
                position += 1
                pendingSpace = true
            case Byte.minus where byte(at: position + 1) == Byte.minus:
                while position < bytes.count, bytes[position] != Byte.newline { position += 1 }
                pendingSpace = true
            case Byte.slash where byte(at: position + 1) == Byte.star:
                try skipBlockComment()
            case Byte.semicolon:
                if openParens.isEmpty && openBlocks.isEmpty {
                    finishStatement()
                    position += 1
                } else {
                    punctuation()
                }
            case Byte.quote:
                try quotedString(from: position, backslashEscapes: false)
            case Byte.doubleQuote:
                try quotedIdentifier(from: position)
            case Byte.dollar:
                try dollar()
            case Byte.openParen:
                openParens.append(line)
                punctuation()
            case Byte.closeParen:
                if !openParens.isEmpty { openParens.removeLast() }
                punctuation()
            case Byte.backslash:
                guard collectsMetaCommands else { throw metaCommand() }
                psqlOnly.append(metaCommand())
                while position < bytes.count, bytes[position] != Byte.newline { position += 1 }
            case Byte.colon where isPsqlVariable():
                psqlOnly.append(psqlVariable())
                punctuation()
            case _ where Byte.isIdentStart(c):
                try word()
            case _ where Byte.isDigit(c):
                number()
            default:
                punctuation()
            }
        }
        if let line = openParens.first {
            throw SQLSyntaxError(line: line, message: "unbalanced parentheses: this '(' is never closed")
        }
        if let line = openBlocks.first {
            throw SQLSyntaxError(
                line: line, message: "BEGIN block of a SQL-standard function body starting here is never closed by END")
        }
        finishStatement()
        return statements
    }

    // MARK: Tokens

    mutating func beginToken(at offset: Int, line tokenLine: Int) {
        if start == nil {
            start = offset
            startLine = tokenLine
        }
        if pendingSpace && !skeleton.isEmpty { skeleton.append(Byte.space) }
        pendingSpace = false
    }

    mutating func punctuation() {
        beginToken(at: position, line: line)
        skeleton.append(bytes[position])
        position += 1
        lastTokenEnd = position
    }

    mutating func number() {
        beginToken(at: position, line: line)
        // Digits, then anything a numeric literal can continue with (1.5e-3 is close enough:
        // the sign of an exponent comes out as an operator, which changes nothing here).
        while position < bytes.count,
            Byte.isDigit(bytes[position]) || Byte.isLetter(bytes[position]) || bytes[position] == 0x5F
                || bytes[position] == Byte.dot
        {
            skeleton.append(Byte.upper(bytes[position]))
            position += 1
        }
        lastTokenEnd = position
    }

    mutating func word() throws(SQLSyntaxError) {
        let wordStart = position
        while position < bytes.count, Byte.isIdentContinue(bytes[position]) { position += 1 }
        if position - wordStart == 1 {
            let prefix = Byte.lower(bytes[wordStart])
            let next = byte(at: position)
            switch prefix {
            case UInt8(ascii: "e") where next == Byte.quote:
                position = wordStart
                return try quotedString(from: wordStart, backslashEscapes: true)
            case UInt8(ascii: "b"), UInt8(ascii: "x"), UInt8(ascii: "n"):
                if next == Byte.quote {
                    position = wordStart
                    return try quotedString(from: wordStart, backslashEscapes: false)
                }
            case UInt8(ascii: "u") where next == Byte.ampersand:
                if byte(at: position + 1) == Byte.quote {
                    position = wordStart
                    return try quotedString(from: wordStart, backslashEscapes: false)
                }
                if byte(at: position + 1) == Byte.doubleQuote {
                    position = wordStart
                    return try quotedIdentifier(from: wordStart)
                }
            default:
                break
            }
        }
        beginToken(at: wordStart, line: line)
        for index in wordStart..<position { skeleton.append(Byte.upper(bytes[index])) }
        lastTokenEnd = position
        trackBlocks(word: bytes[wordStart..<position])
    }

    /// psql's rule, kept identical so that a file splits the same way under `psql -f`: inside
    /// `CREATE [OR REPLACE] FUNCTION|PROCEDURE`, outside parentheses, `BEGIN` opens a block,
    /// `CASE` opens one when already inside a block, and `END` closes one; `;` splits only
    /// outside blocks.
    mutating func trackBlocks(word: ArraySlice<UInt8>) {
        func equals(_ keyword: StaticString) -> Bool {
            guard word.count == keyword.utf8CodeUnitCount else { return false }
            let pointer = keyword.utf8Start
            var offset = 0
            for c in word {
                if Byte.lower(c) != pointer[offset] { return false }
                offset += 1
            }
            return true
        }
        if identifierCount < 4,
            equals("create") || equals("function") || equals("procedure") || equals("or") || equals("replace"),
            let first = word.first
        {
            heads[identifierCount] = Byte.lower(first)
        }
        identifierCount += 1
        let c = UInt8(ascii: "c")
        let f = UInt8(ascii: "f")
        let p = UInt8(ascii: "p")
        let o = UInt8(ascii: "o")
        let r = UInt8(ascii: "r")
        let isRoutine =
            heads[0] == c
            && (heads[1] == f || heads[1] == p || (heads[1] == o && heads[2] == r && (heads[3] == f || heads[3] == p)))
        guard isRoutine, openParens.isEmpty else { return }
        if equals("begin") {
            openBlocks.append(line)
        } else if equals("case") {
            if !openBlocks.isEmpty { openBlocks.append(line) }
        } else if equals("end") {
            if !openBlocks.isEmpty { openBlocks.removeLast() }
        }
    }

    // MARK: Literals and comments

    mutating func appendPlaceholder() {
        skeleton.append(Byte.quote)
        skeleton.append(Byte.questionMark)
        skeleton.append(Byte.quote)
    }

    /// `'…'` with `''` escapes; with `backslashEscapes`, an `E'…'` string where `\` escapes too.
    /// `from` is where the token starts, prefix (`E`, `U&`, `B`, `X`, `N`) included.
    mutating func quotedString(from tokenStart: Int, backslashEscapes: Bool) throws(SQLSyntaxError) {
        beginToken(at: tokenStart, line: line)
        let openingLine = line
        position = tokenStart
        while bytes[position] != Byte.quote { position += 1 }
        position += 1
        while position < bytes.count {
            let c = bytes[position]
            if c == Byte.quote {
                if byte(at: position + 1) == Byte.quote {
                    position += 2
                    continue
                }
                position += 1
                appendPlaceholder()
                lastTokenEnd = position
                return
            }
            if c == Byte.backslash && backslashEscapes, position + 1 < bytes.count {
                if bytes[position + 1] == Byte.newline { line += 1 }
                position += 2
                continue
            }
            if c == Byte.newline { line += 1 }
            position += 1
        }
        let kind = backslashEscapes ? "escape string E'…'" : "quoted string"
        throw SQLSyntaxError(line: openingLine, message: "unterminated \(kind) starting here")
    }

    mutating func quotedIdentifier(from tokenStart: Int) throws(SQLSyntaxError) {
        beginToken(at: tokenStart, line: line)
        let openingLine = line
        while bytes[position] != Byte.doubleQuote {
            skeleton.append(bytes[position])
            position += 1
        }
        skeleton.append(Byte.doubleQuote)
        position += 1
        while position < bytes.count {
            let c = bytes[position]
            skeleton.append(c)
            position += 1
            if c == Byte.doubleQuote {
                if byte(at: position) == Byte.doubleQuote {
                    skeleton.append(c)
                    position += 1
                    continue
                }
                lastTokenEnd = position
                return
            }
            if c == Byte.newline { line += 1 }
        }
        throw SQLSyntaxError(line: openingLine, message: "unterminated quoted identifier starting here")
    }

    /// `$1` is a parameter, `$tag$` or `$$` opens a dollar quote; a lone `$` is left to PostgreSQL.
    mutating func dollar() throws(SQLSyntaxError) {
        let tokenStart = position
        if let next = byte(at: position + 1), Byte.isDigit(next) {
            beginToken(at: tokenStart, line: line)
            skeleton.append(Byte.dollar)
            position += 1
            while position < bytes.count, Byte.isDigit(bytes[position]) {
                skeleton.append(bytes[position])
                position += 1
            }
            lastTokenEnd = position
            return
        }
        var tagEnd = position + 1
        if let next = byte(at: tagEnd), Byte.isIdentStart(next) {
            tagEnd += 1
            while tagEnd < bytes.count, Byte.isDollarTagContinue(bytes[tagEnd]) { tagEnd += 1 }
        }
        guard byte(at: tagEnd) == Byte.dollar else {
            punctuation()
            return
        }
        beginToken(at: tokenStart, line: line)
        let openingLine = line
        let tag = bytes[tokenStart...tagEnd]
        position = tagEnd + 1
        while position < bytes.count {
            let c = bytes[position]
            if c == Byte.newline {
                line += 1
            } else if c == Byte.dollar && bytes[position...].starts(with: tag) {
                position += tag.count
                appendPlaceholder()
                lastTokenEnd = position
                return
            }
            position += 1
        }
        throw SQLSyntaxError(
            line: openingLine,
            message: "unterminated dollar-quoted string \(String(decoding: tag, as: UTF8.self)) starting here")
    }

    /// Block comments nest in PostgreSQL, unlike in C.
    mutating func skipBlockComment() throws(SQLSyntaxError) {
        let openingLine = line
        var depth = 0
        while position < bytes.count {
            let c = bytes[position]
            if c == Byte.slash && byte(at: position + 1) == Byte.star {
                depth += 1
                position += 2
            } else if c == Byte.star && byte(at: position + 1) == Byte.slash {
                depth -= 1
                position += 2
                if depth == 0 {
                    pendingSpace = true
                    return
                }
            } else {
                if c == Byte.newline { line += 1 }
                position += 1
            }
        }
        throw SQLSyntaxError(line: openingLine, message: "unterminated /* comment starting here")
    }

    /// `:name`, `:'name'` or `:"name"`, psql's variable interpolation; not `::type`, and not
    /// `:` before a digit (an array slice such as `a[1:2]`).
    func isPsqlVariable() -> Bool {
        if position > 0, bytes[position - 1] == Byte.colon { return false }
        guard let next = byte(at: position + 1) else { return false }
        if next == Byte.quote || next == Byte.doubleQuote {
            guard let first = byte(at: position + 2) else { return false }
            return Byte.isIdentStart(first)
        }
        return Byte.isLetter(next) || next == 0x5F
    }

    func psqlVariable() -> SQLSyntaxError {
        var end = position + 1
        if bytes[end] == Byte.quote || bytes[end] == Byte.doubleQuote {
            let closing = bytes[end]
            end += 1
            while end < bytes.count, Byte.isIdentContinue(bytes[end]) { end += 1 }
            if end < bytes.count, bytes[end] == closing { end += 1 }
        } else {
            while end < bytes.count, Byte.isIdentContinue(bytes[end]) { end += 1 }
        }
        let variable = String(decoding: bytes[position..<end], as: UTF8.self)
        return SQLSyntaxError(
            line: line,
            message: "psql variable '\(variable)' is not supported: psql substitutes it before PostgreSQL sees the "
                + "statement, and the runner sends statements to PostgreSQL itself; write the value in the file")
    }

    /// Outside literals a backslash is not SQL at all: it is psql syntax (`\set`, `\i`, `\gset`…),
    /// which the runner, sending statements itself, cannot honour.
    func metaCommand() -> SQLSyntaxError {
        var end = position + 1
        while end < bytes.count, !Byte.isSpace(bytes[end]), bytes[end] != Byte.semicolon { end += 1 }
        let command = String(decoding: bytes[position..<end], as: UTF8.self)
        return SQLSyntaxError(
            line: line,
            message: "psql meta-command '\(command)' is not supported: migration files must be plain SQL, "
                + "since the runner sends each statement to PostgreSQL itself")
    }

    // MARK: Statements

    mutating func finishStatement() {
        if let start {
            let text = String(decoding: bytes[start..<lastTokenEnd], as: UTF8.self)
            let skeletonText = String(decoding: skeleton, as: UTF8.self)
            if skeletonText.hasPrefix("COPY "), skeletonText.contains(" FROM STDIN") {
                psqlOnly.append(
                    SQLSyntaxError(
                        line: startLine,
                        message: "COPY … FROM stdin reads its rows from psql's input, which the runner does not have; "
                            + "use INSERT statements (or COPY from a file the server can read)"))
            }
            statements.append(
                SQLStatement(
                    text: text, line: startLine, skeleton: skeletonText,
                    isTransactionControl: Self.isTransactionControl(skeleton: skeleton)))
        }
        start = nil
        skeleton.removeAll(keepingCapacity: true)
        pendingSpace = false
        openParens.removeAll()
        openBlocks.removeAll()
        identifierCount = 0
        heads = [0, 0, 0, 0]
    }

    /// A top-level statement that starts with one of these always controls the transaction:
    /// `BEGIN ATOMIC` only occurs inside `CREATE FUNCTION`, and `DO` bodies are literals.
    static func isTransactionControl(skeleton: [UInt8]) -> Bool {
        var words: [String] = []
        var index = 0
        while words.count < 2 && index < skeleton.count {
            guard Byte.isLetter(skeleton[index]) else {
                if skeleton[index] == Byte.space {
                    index += 1
                    continue
                }
                break
            }
            let wordStart = index
            while index < skeleton.count, Byte.isLetter(skeleton[index]) || skeleton[index] == 0x5F { index += 1 }
            words.append(String(decoding: skeleton[wordStart..<index], as: UTF8.self))
        }
        guard let first = words.first else { return false }
        switch first {
        case "BEGIN", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE":
            return true
        case "START", "PREPARE":
            return words.count > 1 && words[1] == "TRANSACTION"
        default:
            return false
        }
    }
}
