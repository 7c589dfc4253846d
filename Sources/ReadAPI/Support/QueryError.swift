internal import AliceDB

/// A refused read: the HTTP status, a short machine-readable code, one line saying what is wrong,
/// and headers such as `Retry-After` or `WWW-Authenticate`. The body is
/// `{"error": "...", "code": "..."}`, on a cloud node and on an agent alike (the cloud node's
/// `CloudError` is made from it; the agent's listener writes `body` itself).
public struct QueryError: Error, CustomStringConvertible {
    /// An HTTP status: its code and reason phrase, without a web framework's type.
    public struct Status: Sendable, Hashable {
        public var code: Int
        public var reason: String

        public init(_ code: Int, _ reason: String) {
            self.code = code
            self.reason = reason
        }

        public static let ok = Status(200, "OK")
        public static let badRequest = Status(400, "Bad Request")
        public static let unauthorized = Status(401, "Unauthorized")
        public static let forbidden = Status(403, "Forbidden")
        public static let notFound = Status(404, "Not Found")
        public static let contentTooLarge = Status(413, "Content Too Large")
        public static let unprocessableContent = Status(422, "Unprocessable Content")
        public static let tooManyRequests = Status(429, "Too Many Requests")
        public static let internalServerError = Status(500, "Internal Server Error")
        public static let serviceUnavailable = Status(503, "Service Unavailable")
        public static let insufficientStorage = Status(507, "Insufficient Storage")
    }

    public var status: Status
    /// Snake case, stable across releases (`unknown_token`, `not_found`, …); clients branch on it.
    public var code: String
    public var message: String
    /// Extra response headers, by name (`Retry-After`, `WWW-Authenticate`).
    public var headers: [(name: String, value: String)]
    /// The error this refusal stands for (the store's, the parser's), for logs; never sent.
    public var cause: (any Error)?
    /// `Module/File.swift:line` where the refusal was made; for logs, never sent.
    public var location: String

    /// - Parameter code: nil: the status's default code (see `defaultCode(for:)`).
    public init(
        _ status: Status, _ message: String, code: String? = nil, headers: [(name: String, value: String)] = [],
        cause: (any Error)? = nil, sourceFileID: String = #fileID, sourceLine: Int = #line
    ) {
        self.status = status
        self.code = code ?? QueryError.defaultCode(for: status.code)
        self.message = message
        self.headers = headers
        self.cause = cause
        self.location = "\(sourceFileID):\(sourceLine)"
    }

    public var description: String { "\(status.code) \(message)" }

    /// The JSON body of the refusal: `{"error": …, "code": …}` and a line break.
    public var body: String { "{\"error\": \(JSONText.quote(message)), \"code\": \(JSONText.quote(code))}\n" }

    /// The code of a status when nothing more precise is known.
    public static func defaultCode(for status: Int) -> String {
        switch status {
        case 400: "bad_request"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 404: "not_found"
        case 413: "too_large"
        case 429: "rate_limited"
        case 503: "unavailable"
        case 507: "storage_full"
        case 500...599: "internal"
        default: "http_\(status)"
        }
    }

    static func badRequest(_ m: String) -> QueryError { QueryError(.badRequest, m) }
    static func notFound(_ m: String, code: String? = nil) -> QueryError { QueryError(.notFound, m, code: code) }

    /// 401 for a request without `Authorization: Bearer …`.
    public static let missingToken = QueryError(
        .unauthorized, "a bearer token is required (Authorization: Bearer TOKEN)", code: "missing_token",
        headers: [("WWW-Authenticate", "Bearer")])
    /// 401 for a token nobody was given.
    public static let unknownToken = QueryError(
        .unauthorized, "unknown token", code: "unknown_token",
        headers: [("WWW-Authenticate", "Bearer error=\"invalid_token\"")])

    /// Engine and store errors (`AliceDBError`) as HTTP statuses; a `QueryError` stays as it is.
    public static func http(_ error: any Error) -> QueryError {
        if let e = error as? QueryError { return e }
        guard let e = error as? AliceDBError else { return QueryError(.internalServerError, "\(error)", cause: error) }
        switch e.code {
        case .notFound: return QueryError(.notFound, e.message, cause: e)
        case .invalidArgument, .badInput: return QueryError(.badRequest, e.message, cause: e)
        case .diskFull: return QueryError(.insufficientStorage, "\(e)", cause: e)
        case .unavailable: return QueryError(.serviceUnavailable, e.message, headers: [("Retry-After", "5")], cause: e)
        default: return QueryError(.internalServerError, "\(e)", cause: e)
        }
    }

    /// Runs a storage call, turning its errors into HTTP statuses.
    static func storage<T>(_ body: () async throws -> T) async throws(QueryError) -> T {
        do { return try await body() } catch { throw QueryError.http(error) }
    }
}
