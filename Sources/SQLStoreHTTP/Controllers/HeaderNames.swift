import HTTPTypes

extension HTTPField.Name {
    /// `Idempotency-Key`: a client's key that makes `POST /orders` safe to retry.
    static let idempotencyKey = known("Idempotency-Key")
    /// `Idempotent-Replayed: true` marks an answer replayed for a reused `Idempotency-Key`.
    static let idempotentReplayed = known("Idempotent-Replayed")

    /// A name written in this source: valid by inspection, so that a typo fails at first use
    /// in every test rather than per request.
    private static func known(_ name: String) -> HTTPField.Name {
        guard let field = HTTPField.Name(name) else { preconditionFailure("'\(name)' is not a valid HTTP field name") }
        return field
    }
}
