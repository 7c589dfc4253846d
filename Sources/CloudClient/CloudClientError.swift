/// A cloud node call that failed: no answer, a refusal, or an answer that made no sense.
///
/// When the node answered, `status` is its HTTP status and `code` and `message` come from its JSON
/// body (`{"error": "...", "code": "..."}`); otherwise `status` is nil, `code` says what went wrong
/// here and `cause` holds the transport's error. `url` is the request's URL (without the token).
public struct CloudClientError: Error, CustomStringConvertible, Sendable {
    /// What went wrong: the node's code when it answered, else one of the client's.
    ///
    /// A string rather than an enum so that codes a newer node sends pass through unchanged.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        // The node's codes (Sources/Cloud/CloudError.swift).
        public static let badRequest = Code(rawValue: "bad_request")
        /// 401 without a more precise code (a node older than the codes below).
        public static let unauthorized = Code(rawValue: "unauthorized")
        public static let missingToken = Code(rawValue: "missing_token")
        public static let unknownToken = Code(rawValue: "unknown_token")
        public static let forbidden = Code(rawValue: "forbidden")
        public static let notFound = Code(rawValue: "not_found")
        /// `/v1/get`: the series has no sample at exactly that timestamp.
        public static let noSample = Code(rawValue: "no_sample")
        public static let tooLarge = Code(rawValue: "too_large")
        public static let rateLimited = Code(rawValue: "rate_limited")
        public static let `internal` = Code(rawValue: "internal")
        public static let unavailable = Code(rawValue: "unavailable")
        public static let storageFull = Code(rawValue: "storage_full")
        /// 422: the batch's segments use format features the node cannot read (`features` names
        /// them); the same batch succeeds once the node is upgraded.
        public static let unsupportedFeatures = Code(rawValue: "unsupported_features")

        // The client's own.
        /// No answer: the connection failed, was cut or timed out (`cause` says which).
        public static let transport = Code(rawValue: "transport")
        /// The base URL cannot be used.
        public static let invalidURL = Code(rawValue: "invalid_url")
        /// The TLS files (CA, certificate, key) could not be read.
        public static let tlsFiles = Code(rawValue: "tls_files")
        /// A success whose body is not what the endpoint answers.
        public static let badAnswer = Code(rawValue: "bad_answer")

        /// The node's default code for a status (what it sends when it has nothing more precise).
        public init(status: Int) {
            switch status {
            case 400: self = .badRequest
            case 401: self = .unauthorized
            case 403: self = .forbidden
            case 404: self = .notFound
            case 413: self = .tooLarge
            case 429: self = .rateLimited
            case 503: self = .unavailable
            case 507: self = .storageFull
            case 500...599: self = .internal
            default: self = Code(rawValue: "http_\(status)")
            }
        }

        public var description: String { rawValue }
    }

    public var code: Code
    /// The node's HTTP status; nil when it did not answer.
    public var status: Int?
    public var message: String
    /// The transport's or the decoder's error, if any.
    public var cause: (any Error)?
    public var url: String
    /// Seconds the node asked to wait (`Retry-After`), if it did.
    public var retryAfter: Double?
    /// `unsupportedFeatures`: the format features the node named.
    public var features: [String] = []

    public init(
        _ code: Code, _ message: String, status: Int? = nil, url: String, cause: (any Error)? = nil,
        retryAfter: Double? = nil
    ) {
        self.code = code
        self.message = message
        self.status = status
        self.url = url
        self.cause = cause
        self.retryAfter = retryAfter
    }

    /// Whether the same request may succeed later as it is: no answer, 408, 429 and the 5xx
    /// statuses of a node or proxy that is busy or down. A 4xx otherwise needs a change first
    /// (a token, a smaller batch, a parameter), and so do the client's own codes.
    public var isRetryable: Bool {
        guard let status else { return code == .transport }
        return CloudClientError.isRetryable(status: status)
    }

    /// Whether a request answered with `status` may succeed when sent again unchanged.
    public static func isRetryable(status: Int) -> Bool {
        switch status {
        case 408, 425, 429: true
        case 500, 502, 503, 504, 507: true
        default: false
        }
    }

    public var description: String {
        var s = url + ": "
        if let status {
            s += "cloud node answered \(status) (\(code)): \(message)"
        } else {
            s += "\(code): \(message)"
        }
        if let cause { s += " (\(cause))" }
        return s
    }
}

/// The body of a refusal: `{"error": "...", "code": "..."}` (`code` since the node had codes).
struct NodeErrorBody: Decodable {
    var error: String
    var code: String?
    /// `unsupported_features`: the features the node cannot read.
    var features: [String]?
}
