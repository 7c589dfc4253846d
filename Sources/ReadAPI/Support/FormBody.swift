public import NIOCore

/// A POST's form body (`application/x-www-form-urlencoded`: Grafana's Prometheus data source sends
/// its queries so), collected the same way by the cloud node and by the agent's listener: at most
/// `maxBytes`, a longer one (declared or received) refused with 413.
public struct FormBody: Sendable {
    /// The longest form body taken: 1 MiB, room for hundreds of long `match[]` selectors.
    public static let maxBytes = 1 << 20

    /// What came, up to `maxBytes`.
    public private(set) var bytes = ByteBuffer()
    /// More than `maxBytes` came or was announced: `bytes` is cut short and the request is refused.
    public private(set) var tooLarge = false

    /// - Parameter contentLength: the request's `Content-Length` header, if any; a length over
    ///   `maxBytes` marks the body too large at once, and nothing of it is kept.
    public init(contentLength: String? = nil) {
        if let length = contentLength.flatMap({ Int($0) }), length > FormBody.maxBytes { tooLarge = true }
    }

    /// Takes the next part of the body; past `maxBytes` it is dropped and the body marked too large.
    public mutating func append(_ part: ByteBuffer) {
        guard !tooLarge else { return }
        if bytes.readableBytes + part.readableBytes > FormBody.maxBytes {
            tooLarge = true
            bytes.clear()
        } else {
            var part = part
            bytes.writeBuffer(&part)
        }
    }

    /// Adds the body's parameters to `p` (after the query string's: a key in both has both values,
    /// the query string's first).
    /// - Throws: `QueryError` 413 `too_large` when the body was larger than `maxBytes`.
    public func add(to p: inout Parameters) throws(QueryError) {
        guard !tooLarge else { throw FormBody.tooLargeError }
        p.add(String(buffer: bytes))
    }

    /// The refusal of a body over `maxBytes`.
    public static var tooLargeError: QueryError {
        QueryError(
            .contentTooLarge,
            "request body: larger than \(maxBytes) bytes (1 MiB), the most a form of query parameters may take")
    }
}
