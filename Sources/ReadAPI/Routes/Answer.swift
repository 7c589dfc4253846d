public import NIOCore

/// What a read route answers: status, content type, extra headers and the body's bytes. The cloud
/// node's Hummingbird routes and the agent's SwiftNIO listener each turn it into their response.
public struct Answer: Sendable {
    public var status: QueryError.Status
    public var contentType: String
    public var headers: [(name: String, value: String)]
    public var body: ByteBuffer

    public init(
        status: QueryError.Status = .ok, contentType: String, headers: [(name: String, value: String)] = [],
        body: ByteBuffer
    ) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    static func json(_ text: String, status: QueryError.Status = .ok) -> Answer {
        Answer(status: status, contentType: "application/json", body: ByteBuffer(string: text))
    }

    static func json(_ body: ByteBuffer) -> Answer { Answer(contentType: "application/json", body: body) }

    static func csv(_ text: String, headers: [(name: String, value: String)] = []) -> Answer {
        Answer(contentType: "text/csv", headers: headers, body: ByteBuffer(string: text))
    }

    static func csv(_ body: ByteBuffer, headers: [(name: String, value: String)] = []) -> Answer {
        Answer(contentType: "text/csv", headers: headers, body: body)
    }

    /// A refusal in the read API's shape: `{"error": …, "code": …}` with the error's status and headers.
    public static func error(_ e: QueryError) -> Answer {
        Answer(status: e.status, contentType: "application/json", headers: e.headers, body: ByteBuffer(string: e.body))
    }
}
