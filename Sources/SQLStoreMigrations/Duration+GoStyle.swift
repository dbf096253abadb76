import Foundation

// `package`, not public: the runner reads directives (`-- sqlstore:lock-timeout=5s`) with them and
// the store and CLI read settings with them, but they are no part of the migrations library's API.
extension Duration {
    /// Parses durations written as Go writes them and as the reference service's configuration
    /// does: `500ms`, `5s`, `5m`, `1h30m`, `0`. Units: `us`/`µs`, `ms`, `s`, `m`, `h`.
    package init?(goStyle text: String) {
        let text = text.trimmingCharacters(in: .whitespaces)
        if text == "0" {
            self = .zero
            return
        }
        var nanoseconds: Int64 = 0
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !digits.isEmpty, let amount = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isLetter || $0 == "µ" }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "us", "µs": scale = 1e-6
            case "ms": scale = 1e-3
            case "s": scale = 1
            case "m": scale = 60
            case "h": scale = 3600
            default: return nil
            }
            // Beyond about 292 years the nanoseconds overflow: refused, like any unreadable text.
            guard let part = Int64(exactly: (amount * scale * 1e9).rounded()),
                case let (sum, overflow) = nanoseconds.addingReportingOverflow(part), !overflow
            else { return nil }
            nanoseconds = sum
        }
        self = .nanoseconds(nanoseconds)
    }

    /// Whole milliseconds for a PostgreSQL timeout: rounded up, so that a positive duration never
    /// becomes 0 (which PostgreSQL reads as "no timeout"), and at most 2147483647 (24.8 days),
    /// the largest timeout PostgreSQL accepts, which a longer one would make an error.
    package var postgresMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        guard seconds <= Int64(Int32.max) / 1000 else { return Int64(Int32.max) }
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        let remainder = attoseconds % 1_000_000_000_000_000
        return min(remainder > 0 ? millis + 1 : millis, Int64(Int32.max))
    }

    /// `1.234s`, `87ms`: short and human.
    package var humanReadable: String {
        let ms = Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
        if ms < 1000 { return ms < 10 ? String(format: "%.1fms", ms) : String(format: "%.0fms", ms) }
        return String(format: "%.2fs", ms / 1000)
    }
}
