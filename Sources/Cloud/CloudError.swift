internal import AliceDB
public import Hummingbird
internal import ReadAPI

/// A refused request: the HTTP status, a short machine-readable code, one line saying what is
/// wrong, and headers such as `Retry-After` or `WWW-Authenticate`. The body is
/// `{"error": "...", "code": "..."}` (the CloudClient module decodes it).
public struct CloudError: HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    /// Snake case, stable across releases (`unknown_token`, `not_found`, …); clients branch on it.
    public var code: String
    public var message: String
    public var headers: HTTPFields
    /// The error this refusal stands for (the store's, the parser's), for logs; never sent.
    public var cause: (any Error)?
    /// `Module/File.swift:line` where the refusal was made; for logs, never sent.
    public var location: String
    /// `unsupported_features`: the format features the node cannot read (sent as `"features"`).
    public var features: [String] = []

    /// - Parameter code: nil: the status's default code (see `defaultCode(for:)`).
    public init(
        _ status: HTTPResponse.Status, _ message: String, code: String? = nil, headers: HTTPFields = [:],
        cause: (any Error)? = nil, sourceFileID: String = #fileID, sourceLine: Int = #line
    ) {
        self.status = status
        self.code = code ?? CloudError.defaultCode(for: status.code)
        self.message = message
        self.headers = headers
        self.cause = cause
        self.location = "\(sourceFileID):\(sourceLine)"
    }

    public var description: String { "\(status.code) \(message)" }

    /// The code of a status when nothing more precise is known: the read API's (`QueryError`), so a
    /// refusal reads the same from the node's own routes and from the shared ones.
    public static func defaultCode(for status: Int) -> String { QueryError.defaultCode(for: status) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var h = headers
        h[.contentType] = "application/json"
        return Response(
            status: status, headers: h,
            body: .init(
                byteBuffer: ByteBuffer(
                    string: "{\"error\": \(JSONText.quote(message)), \"code\": \(JSONText.quote(code))\(featureList)}\n"
                )))
    }

    private var featureList: String {
        features.isEmpty ? "" : ", \"features\": [\(features.map(JSONText.quote).joined(separator: ", "))]"
    }

    static func badRequest(_ m: String) -> CloudError { CloudError(.badRequest, m) }
    static func notFound(_ m: String, code: String? = nil) -> CloudError { CloudError(.notFound, m, code: code) }
}
