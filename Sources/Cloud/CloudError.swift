internal import AliceDB
public import Hummingbird

/// A refused request: the HTTP status, one line saying what is wrong, and headers such as
/// `Retry-After` or `WWW-Authenticate`. The body is `{"error": "..."}`.
public struct CloudError: HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var h = headers
        h[.contentType] = "application/json"
        return Response(
            status: status, headers: h,
            body: .init(byteBuffer: ByteBuffer(string: "{\"error\": \(JSONText.quote(message))}\n")))
    }

    static func badRequest(_ m: String) -> CloudError { CloudError(.badRequest, m) }
    static func notFound(_ m: String) -> CloudError { CloudError(.notFound, m) }
}
