internal import AliceDB
public import Hummingbird
internal import HummingbirdCore
internal import HummingbirdTLS
public import Logging
internal import NIOCore
internal import NIOSSL
internal import Synchronization

/// The cloud node: receives segment batches from gateways and answers queries over HTTP.
///
/// Routes: `POST /v1/segments` (a gateway's upload); `GET /v1/gateways`, `/v1/series`, `/v1/scan`,
/// `/v1/get`, `/v1/aggregate`, `/v1/downsample` (JSON or CSV); the Prometheus HTTP API subset a
/// Grafana data source uses under `/api/v1/`; `/healthz` and `/metrics` without a token.
public final class CloudNode: Sendable {
    public let config: CloudConfig
    public let store: any CloudStorage
    let logger: Logger
    let limiter: RateLimiter
    let counters = Mutex(CloudCounters())
    /// When the node was made (the status's uptime).
    let startedAt = ContinuousClock.now

    public init(config: CloudConfig, store: any CloudStorage, logger: Logger) {
        self.config = config
        self.logger = logger
        self.store = store
        limiter = RateLimiter(rate: config.rateLimit, burst: config.rateBurst)
    }

    /// The HTTP(S) application; `onListening` gets the bound port (the config may ask for port 0).
    /// - Throws: `CloudError` when the TLS files cannot be read.
    public func application(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) throws
        -> some ApplicationProtocol
    {
        let router = Router()
        router.add(middleware: RequestCounter(node: self))
        addRoutes(router)
        var server = HTTPServerBuilder.http1(
            configuration: .init(idleTimeout: .milliseconds(Int64(config.idleTimeoutSeconds * 1000))))
        if let cert = config.tlsCert, let key = config.tlsKey {
            do {
                var tls = TLSConfiguration.makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
                if let ca = config.tlsClientCA {
                    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
                    tls.certificateVerification = .noHostnameVerification
                }
                server = try .tls(server, tlsConfiguration: tls)
            } catch {
                throw CloudError(
                    .internalServerError,
                    "TLS files (tls_cert_file, tls_key_file, tls_client_ca_file) could not be used: \(error)")
            }
        }
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "alicedb-cloud"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    func addRoutes(_ router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in await self.health() }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: self.metricsText())))
        }
        router.post("/v1/segments") { request, _ in try await self.ingest(request) }
        router.get("/v1/status") { request, _ in try await self.status(request) }
        // The read APIs are their own handlers: they get the store and who asks, nothing else.
        let principal: @Sendable (Request) async throws(CloudError) -> Principal = { request in
            try await self.principal(request)
        }
        QueryAPI(store: store, maxScanPoints: config.maxScanPoints, principal: principal).addRoutes(to: router)
        PrometheusAPI(store: store, principal: principal).addRoutes(to: router)
    }

    // MARK: Who is asking

    /// The caller named by the request's bearer token (the configuration's, else the store's),
    /// after its rate limit.
    /// - Throws: 401 without a known token, 429 past the token's rate, 503 when the store that
    ///   would know the token cannot be reached.
    func principal(_ request: Request) async throws(CloudError) -> Principal {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") || header.hasPrefix("bearer ")
        else {
            counters.withLock { $0.unauthorized += 1 }
            throw CloudError(
                .unauthorized, "a bearer token is required (Authorization: Bearer TOKEN)", code: "missing_token",
                headers: [.wwwAuthenticate: "Bearer"])
        }
        let given = Array(header.utf8.dropFirst(7))
        // Every configured token is compared in full: the time taken does not tell how much matched.
        var found: Principal? = nil
        for (token, who) in config.tokens where CloudNode.equalInConstantTime(Array(token.utf8), given) { found = who }
        if found == nil, given.count >= 8, given.count <= 512, let token = String(validating: given, as: UTF8.self) {
            found = try await CloudError.storage { try await store.principal(forToken: token) }
        }
        guard let who = found else {
            counters.withLock { $0.unauthorized += 1 }
            throw CloudError(
                .unauthorized, "unknown token", code: "unknown_token",
                headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
        }
        if let wait = limiter.take("\(who.role == .gateway ? "g" : "r"):\(who.name)") {
            counters.withLock { $0.rateLimited += 1 }
            let seconds = max(1, Int(wait.rounded(.up)))
            throw CloudError(
                .tooManyRequests, "rate limit of \(config.rateLimit) requests/s exceeded; retry in \(seconds) s",
                headers: [.retryAfter: String(seconds)])
        }
        return who
    }

    static func equalInConstantTime(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) { diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
        return diff == 0
    }

    // MARK: Operations

    /// 200 `ok` while the store works, 503 with the reason while it does not.
    func health() async -> Response {
        let problem = await store.problem()
        return Response(
            status: problem == nil ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
            body: .init(byteBuffer: ByteBuffer(string: problem.map { "storage unavailable: \($0)\n" } ?? "ok\n")))
    }

    func metricsText() -> String {
        let c = counters.withLock { $0 }
        var out = PrometheusText()
        out.metric(
            "alicedb_cloud_requests_total", "counter", "HTTP requests by route and status.",
            c.requests.sorted { $0.key < $1.key }.map { key, n in
                let parts = key.split(separator: " ", maxSplits: 1)
                return (
                    "{route=\"\(PrometheusText.escape(String(parts[0])))\",status=\"\(parts.count > 1 ? parts[1] : "")\"}",
                    Double(n)
                )
            })
        out.metric("alicedb_cloud_batches_total", "counter", "Segment batches accepted.", [("", Double(c.batches))])
        out.metric(
            "alicedb_cloud_segments_total", "counter", "Segments received, by outcome.",
            [
                ("{outcome=\"stored\"}", Double(c.segmentsStored)),
                ("{outcome=\"duplicate\"}", Double(c.segmentsDuplicate)),
                ("{outcome=\"rejected\"}", Double(c.segmentsRejected)),
            ])
        out.metric(
            "alicedb_cloud_points_stored_total", "counter", "Points in the segments stored.",
            [("", Double(c.pointsStored))])
        out.metric(
            "alicedb_cloud_received_bytes_total", "counter", "Bytes of accepted batch bodies.",
            [("", Double(c.bytesReceived))])
        out.metric(
            "alicedb_cloud_rate_limited_total", "counter", "Requests refused by the rate limit.",
            [("", Double(c.rateLimited))])
        out.metric(
            "alicedb_cloud_unauthorized_total", "counter", "Requests without a known token.",
            [("", Double(c.unauthorized))])
        out.metric(
            "alicedb_cloud_last_upload_timestamp_seconds", "gauge", "When each gateway last uploaded.",
            c.lastUpload.sorted { $0.key < $1.key }.map {
                ("{gateway=\"\(PrometheusText.escape($0.key))\"}", Double($0.value) / 1000)
            })
        return out.text
    }

    /// `POST /v1/segments`: a batch in the segment batch format. 200 with what was stored,
    /// duplicated and refused (and why) when the body is a batch; 400 and nothing stored when not.
    func ingest(_ request: Request) async throws(CloudError) -> Response {
        let who = try await principal(request)
        guard who.role == .gateway else {
            throw CloudError(.forbidden, "'\(who.name)' is a reader: only gateways upload")
        }
        try checkFeatures(request)
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > config.maxBody {
            throw CloudError(
                .contentTooLarge, "body of \(length) bytes is larger than max_body (\(config.maxBody) bytes)")
        }
        var request = request
        let body: ByteBuffer
        do { body = try await request.collectBody(upTo: config.maxBody) } catch {
            throw CloudError(.contentTooLarge, "body larger than max_body (\(config.maxBody) bytes), or cut short")
        }
        let bytes = Array(body.readableBytesView)
        let batch: SegmentBatch
        do { batch = try SegmentBatch.decode(bytes) } catch {
            throw .badRequest("\(error.message)\(error.offset.map { " (byte \($0))" } ?? "")")
        }
        let report: ImportReport
        do {
            report = try await store.ingest(batch, from: who.name)
        } catch {
            logger.error("storing a batch failed", metadata: ["gateway": "\(who.name)", "error": "\(error)"])
            throw CloudError.http(error)
        }
        counters.withLock { c in
            c.batches += 1
            c.segmentsStored += report.stored
            c.segmentsDuplicate += report.duplicates
            c.segmentsRejected += report.rejected.count
            c.pointsStored += report.points
            c.bytesReceived += bytes.count
            c.lastUpload[who.name] = FileIO.wallMillis()
        }
        if !report.rejected.isEmpty {
            logger.warning(
                "segments refused",
                metadata: [
                    "gateway": "\(who.name)", "count": "\(report.rejected.count)",
                    "first": "\(report.rejected[0].reason)",
                ])
        }
        var json =
            "{\"stored\": \(report.stored), \"duplicates\": \(report.duplicates), \"points\": \(report.points), \"rejected\": ["
        json += report.rejected.map { "{\"index\": \($0.index), \"reason\": \(JSONText.quote($0.reason))}" }.joined(
            separator: ", ")
        json += "]}\n"
        return Reply.json(json)
    }
}
