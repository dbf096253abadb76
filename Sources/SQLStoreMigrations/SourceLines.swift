extension StringProtocol {
    /// The lines of a migration file or plan, split at `\n` and at `\r\n`, without their
    /// terminators: line N is element N - 1. Swift reads `\r\n` as one `Character`, so
    /// `split(separator: "\n")` would leave a file saved on Windows whole, its directives and
    /// section markers unseen.
    var sourceLines: [SubSequence] {
        split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    }
}
