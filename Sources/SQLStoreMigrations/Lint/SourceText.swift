/// Lexing shared by lint's scanners of a statement's source as written (the caret under a
/// finding's clause, a column default's text, where a keyword starts), as opposed to its tokens.
enum SourceText {
    /// Letters, digits, `_` and `$`: the characters of an unquoted SQL word.
    static func isWordCharacter(_ character: Character) -> Bool {
        character == "_" || character == "$" || character.isLetter || character.isNumber
    }

    /// For the string or quoted identifier whose opening quote (`'` or `"`) is at `index`: the
    /// index just after its closing quote, a doubled quote inside being part of the text; the end
    /// of `characters` when it never closes.
    static func endOfQuoted(_ characters: [Character], openingAt index: Int) -> Int {
        let quote = characters[index]
        var position = index + 1
        while position < characters.count {
            if characters[position] == quote {
                if position + 1 < characters.count, characters[position + 1] == quote {
                    position += 2
                    continue
                }
                return position + 1
            }
            position += 1
        }
        return characters.count
    }
}
