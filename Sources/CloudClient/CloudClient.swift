internal import FleetStatus
internal import FoundationEssentials
public import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import NIOSSL

/// A cloud node's HTTP API as one bearer token sees it: uploads of segment batches (a gateway's
/// token) and the `/v1` queries (a gateway's or a reader's token).
///
/// Every failure is a `CloudClientError` with the node's status, code and message when it
/// answered; whether to retry, and when, is the caller's decision (`isRetryable`, `retryAfter`).
public struct CloudClient: Sendable {
    /// Files for HTTPS beyond the system's trust store.
    public struct TLSFiles: Sendable, Hashable {
        /// The CA that signed the node's certificate (PEM).
        public var caFile: String?
        /// A client certificate and its key (PEM), for a node that asks for one.
        public var certFile: String?
        public var keyFile: String?
        /// Accept any certificate of the node (tests with self-signed certificates only).
        public var insecure: Bool

        public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecure: Bool = false) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.insecure = insecure
        }
    }

    /// The node's base URL without a trailing slash (`http://host:port`).
    public let baseURL: String
    let token: String
    let timeout: Duration
    let http: HTTPTransport

    /// A client on NIO's process-wide event loops: for short-lived tools (nothing needs shutting down).
    /// - Parameters:
    ///   - url: the node's base URL, `http://` or `https://`.
    ///   - token: the bearer token.
    ///   - timeout: the longest a request may take.
    /// - Throws: `CloudClientError` `.invalidURL` when `url` is not an HTTP(S) URL.
    public init(url: String, token: String, timeout: Duration = .seconds(120)) throws(CloudClientError) {
        try self.init(
            url: url, token: token, tls: TLSFiles(), timeout: timeout,
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
    }

    /// A client on the given event loops that keeps its connection open between requests (for at
    /// most 50 s idle): for a daemon. Call `shutdown()` before it goes away.
    /// - Parameters:
    ///   - url: the node's base URL, `http://` or `https://`.
    ///   - token: the bearer token.
    ///   - tls: certificates for HTTPS (ignored for `http://`).
    ///   - timeout: the longest a request may take (connecting takes at most 10 s of it).
    ///   - eventLoopGroup: the event loops the connections run on.
    /// - Throws: `CloudClientError` `.invalidURL`, or `.tlsFiles` when a TLS file cannot be read.
    public init(
        url: String, token: String, tls: TLSFiles, timeout: Duration, eventLoopGroup: any EventLoopGroup
    ) throws(CloudClientError) {
        let endpoint: HTTPTransport.Endpoint
        do { endpoint = try HTTPTransport.parse(url) } catch {
            throw CloudClientError(.invalidURL, error.description, url: url)
        }
        baseURL = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.token = token
        self.timeout = timeout
        var tlsConfiguration: TLSConfiguration? = nil
        if endpoint.tls {
            var t = TLSConfiguration.makeClientConfiguration()
            do {
                if let ca = tls.caFile { t.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) }
                if let cert = tls.certFile, let key = tls.keyFile {
                    t.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                    t.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
                }
            } catch {
                throw CloudClientError(.tlsFiles, "the TLS files could not be read", url: baseURL, cause: error)
            }
            if tls.insecure { t.certificateVerification = .none }
            tlsConfiguration = t
        }
        let connect = min(TimeAmount.nanoseconds(CloudClient.nanoseconds(timeout)), .seconds(10))
        do {
            http = try HTTPTransport(
                endpoint: endpoint, tls: tlsConfiguration, group: eventLoopGroup, connectTimeout: connect)
        } catch {
            throw CloudClientError(.tlsFiles, "the TLS settings could not be used", url: baseURL, cause: error)
        }
    }

    /// Closes the connection kept open between requests.
    public func shutdown() async {
        await http.shutdown()
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }

    /// A 200 answer.
    struct Answer {
        var headers: HTTPHeaders
        var body: ByteBuffer
        var text: String { String(buffer: body) }
    }

    /// One request with the bearer token.
    /// - Parameters:
    ///   - query: parameters, percent-encoded here; nil values are left out.
    ///   - maxBytes: the longest answer accepted.
    /// - Returns: the answer when the status is 200.
    /// - Throws: `CloudClientError`: the node's refusal (decoded from its JSON body), or `.transport`.
    func call(
        _ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], body: [UInt8]? = nil,
        contentType: String? = nil, headers extra: [(String, String)] = [], maxBytes: Int
    ) async throws(CloudClientError) -> Answer {
        let pairs = query.compactMap { k, v in v.map { "\(k)=\(CloudClient.escape($0))" } }
        let target = path + (pairs.isEmpty ? "" : "?" + pairs.joined(separator: "&"))
        let url = baseURL + target
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(token)")
        headers.add(name: "User-Agent", value: "alicedb/\(AliceDBVersion.string)")
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        for (name, value) in extra { headers.add(name: name, value: value) }
        let response: HTTPTransport.Response
        do {
            response = try await http.send(
                method, target, headers: headers, body: body,
                deadline: .now() + .nanoseconds(CloudClient.nanoseconds(timeout)), maxBytes: maxBytes)
        } catch {
            throw CloudClientError(.transport, "no answer", url: url, cause: error)
        }
        let (status, answer) = (response.status, response.body)
        headers = response.headers
        guard status == 200 else {
            throw CloudClient.refusal(status: status, headers: headers, body: answer, url: url)
        }
        return Answer(headers: headers, body: answer)
    }

    /// The node's refusal: code and message from its JSON body; for a body that is not the
    /// node's (a proxy's page), the status's code and the body's first line.
    static func refusal(status: Int, headers: HTTPHeaders, body: ByteBuffer, url: String) -> CloudClientError {
        let retryAfter = headers.first(name: "Retry-After").flatMap(Double.init)
        do {
            let decoded = try JSONDecoder().decode(NodeErrorBody.self, from: Data(body.readableBytesView))
            var error = CloudClientError(
                decoded.code.map { CloudClientError.Code(rawValue: $0) } ?? CloudClientError.Code(status: status),
                decoded.error, status: status, url: url, retryAfter: retryAfter)
            error.features = decoded.features ?? []
            return error
        } catch {
            let text = String(buffer: body)
            let line = text.split(separator: "\n", maxSplits: 1).first.map { String($0.prefix(300)) } ?? ""
            return CloudClientError(
                CloudClientError.Code(status: status), line.isEmpty ? "(no message)" : line, status: status, url: url,
                cause: text.isEmpty ? nil : error, retryAfter: retryAfter)
        }
    }

    /// Percent-encodes a query value (everything but unreserved ASCII).
    static func escape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let h = String(b, radix: 16, uppercase: true)
                out += "%" + (h.count == 1 ? "0" + h : h)
            }
        }
        return out
    }
}
