internal import FoundationEssentials
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import NIOSSL
internal import Synchronization

/// HTTP/1.1 to one cloud node over SwiftNIO: a request, its whole answer, one kept-alive connection.
///
/// Why not AsyncHTTPClient: the agent sends one batch at a time to one host, and AsyncHTTPClient's
/// pool, HTTP/2 and streaming machinery cost the gateway ~3 MiB of resident code pages for it
/// (docs/benchmarks.md). This is the part the agent and the CLI use: one connection reused while it
/// lives (a second request at the same time gets a connection of its own), answers read whole up
/// to a limit, a deadline per request, TLS through swift-nio-ssl.
final class HTTPTransport: Sendable {
    /// Where the node is, from its base URL.
    struct Endpoint: Sendable, Equatable {
        var tls: Bool
        var host: String
        var port: Int
        /// The base URL's path (no trailing slash), put before every request's path.
        var pathPrefix: String
        /// The Host header: the host, and the port unless it is the scheme's default.
        var hostHeader: String
    }

    /// A response, read whole.
    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: ByteBuffer
    }

    let endpoint: Endpoint
    let group: any EventLoopGroup
    let sslContext: NIOSSLContext?
    let connectTimeout: TimeAmount
    /// The connection that finished its last request cleanly, and when; nil: none open.
    private let idle = Mutex<(channel: any Channel, since: ContinuousClock.Instant)?>(nil)
    /// An idle connection older than this is closed rather than reused (the node may have closed it).
    static let idleLimit = Duration.seconds(50)

    /// - Throws: swift-nio-ssl's error when `tls` cannot be used.
    init(endpoint: Endpoint, tls: TLSConfiguration?, group: any EventLoopGroup, connectTimeout: TimeAmount) throws {
        self.endpoint = endpoint
        self.group = group
        self.connectTimeout = connectTimeout
        sslContext = endpoint.tls ? try NIOSSLContext(configuration: tls ?? .makeClientConfiguration()) : nil
    }

    /// - Throws: `TransportError` when `url` is not an `http://` or `https://` URL with a host.
    convenience init(url: String, tls: TLSConfiguration?, group: any EventLoopGroup, connectTimeout: TimeAmount)
        throws
    {
        try self.init(endpoint: HTTPTransport.parse(url), tls: tls, group: group, connectTimeout: connectTimeout)
    }

    /// Splits `scheme://host[:port][/path]` (the host may be a bracketed IPv6 address).
    static func parse(_ url: String) throws(TransportError) -> Endpoint {
        let tls: Bool
        let rest: Substring
        if url.hasPrefix("https://") {
            (tls, rest) = (true, url.dropFirst(8))
        } else if url.hasPrefix("http://") {
            (tls, rest) = (false, url.dropFirst(7))
        } else {
            throw TransportError("not an http:// or https:// URL")
        }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        var path = String(rest.dropFirst(authority.count))
        while path.hasSuffix("/") { path.removeLast() }
        guard !authority.contains("@") else { throw TransportError("credentials in the URL are not supported") }
        var host = Substring(authority)
        var port = tls ? 443 : 80
        var explicitPort = false
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw TransportError("an IPv6 address without ']'") }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else { throw TransportError("a bad port") }
                (port, explicitPort) = (p, true)
            }
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]) else { throw TransportError("a bad port") }
            (host, port, explicitPort) = (host[..<colon], p, true)
        }
        guard !host.isEmpty else { throw TransportError("no host") }
        guard (1...65535).contains(port) else { throw TransportError("port \(port) is out of range") }
        let shown = host.contains(":") ? "[\(host)]" : String(host)
        let header = explicitPort && port != (tls ? 443 : 80) ? "\(shown):\(port)" : shown
        return Endpoint(tls: tls, host: String(host), port: port, pathPrefix: path, hostHeader: header)
    }

    /// Sends one request and reads the whole answer.
    /// - Parameters:
    ///   - target: the path and query after the base URL's path.
    ///   - deadline: the request fails with a timeout when its answer is not complete by then.
    ///   - maxBytes: a longer answer body fails the request.
    /// - Throws: `TransportError` or the connection's error (NIO's, swift-nio-ssl's).
    func send(
        _ method: HTTPMethod, _ target: String, headers: HTTPHeaders, body: [UInt8]?, deadline: NIODeadline,
        maxBytes: Int
    ) async throws -> Response {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: endpoint.pathPrefix + target)
        head.headers = headers
        head.headers.replaceOrAdd(name: "Host", value: endpoint.hostHeader)
        if let body { head.headers.replaceOrAdd(name: "Content-Length", value: String(body.count)) }
        // A kept connection the node closed meanwhile fails before any answer: once more on a new one.
        // Every request of this client may be sent twice (the node stores a segment it has once).
        if let reused = takeIdle() {
            do {
                return try await exchange(on: reused, head, body, deadline, maxBytes)
            } catch let e as TransportError where e.beforeAnswer && NIODeadline.now() < deadline {
                // fall through to a new connection
            }
        }
        let channel = try await connect(deadline: deadline)
        return try await exchange(on: channel, head, body, deadline, maxBytes)
    }

    /// Closes the idle connection, if any.
    func shutdown() async {
        let channel = idle.withLock { slot in
            defer { slot = nil }
            return slot?.channel
        }
        try? await channel?.close()
    }

    private func takeIdle() -> (any Channel)? {
        let taken = idle.withLock { slot in
            defer { slot = nil }
            return slot
        }
        guard let taken else { return nil }
        guard taken.channel.isActive, ContinuousClock.now - taken.since < HTTPTransport.idleLimit else {
            taken.channel.close(promise: nil)
            return nil
        }
        return taken.channel
    }

    private func keep(_ channel: any Channel) {
        let older = idle.withLock { slot in
            defer { slot = (channel, ContinuousClock.now) }
            return slot?.channel
        }
        older?.close(promise: nil)
    }

    private func connect(deadline: NIODeadline) async throws -> any Channel {
        let ssl = sslContext
        let host = endpoint.host
        // SNI takes a DNS name only, never an address.
        let serverName = host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : host
        let left = deadline - NIODeadline.now()
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(min(connectTimeout, max(left, .milliseconds(1))))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // Answers are acknowledgements and query results read whole: reads of at most 16 KiB
            // rather than NIO's default of up to 64 KiB (pooled) on a gateway's small heap.
            .channelOption(
                .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 512, initial: 2048, maximum: 16384)
            )
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let ssl { try sync.addHandler(NIOSSLClientHandler(context: ssl, serverHostname: serverName)) }
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(ExchangeHandler())
                }
            }
        do {
            return try await bootstrap.connect(host: host, port: endpoint.port).get()
        } catch {
            throw TransportError("cannot connect", beforeAnswer: true, cause: error)
        }
    }

    private func exchange(
        on channel: any Channel, _ head: HTTPRequestHead, _ body: [UInt8]?, _ deadline: NIODeadline, _ maxBytes: Int
    ) async throws -> Response {
        let promise = channel.eventLoop.makePromise(of: ExchangeHandler.Outcome.self)
        let timer = channel.eventLoop.scheduleTask(deadline: deadline) {
            promise.fail(TransportError("no complete answer within the request's timeout", beforeAnswer: false))
            channel.close(promise: nil)
        }
        channel.writeAndFlush(
            ExchangeHandler.Request(head: head, body: body ?? [], maxBytes: maxBytes, answer: promise)
        )
        .whenFailure { error in
            // Ignored when the answer came first: a node may answer (413) and close before it
            // has read the whole body.
            promise.fail(TransportError("the request could not be sent: \(error)", beforeAnswer: true))
        }
        let outcome: ExchangeHandler.Outcome
        do {
            outcome = try await promise.futureResult.get()
        } catch {
            timer.cancel()
            channel.close(promise: nil)
            throw error
        }
        timer.cancel()
        if outcome.keepAlive && channel.isActive { keep(channel) } else { channel.close(promise: nil) }
        return Response(status: outcome.status, headers: outcome.headers, body: outcome.body)
    }
}

/// A transport failure of this client's own (the URL, a cut or late answer, a too-long body).
struct TransportError: Error, CustomStringConvertible, Sendable {
    var description: String
    /// True when nothing of the answer had arrived: the request may be sent again on a new connection.
    var beforeAnswer: Bool
    /// The connection's own error (NIO's, swift-nio-ssl's), when there is one.
    var cause: (any Error)?

    init(_ message: String, beforeAnswer: Bool = false, cause: (any Error)? = nil) {
        description = cause.map { "\(message): \(TransportError.describe($0))" } ?? message
        self.beforeAnswer = beforeAnswer
        self.cause = cause
    }

    /// An error's text. NIO describes a failed connection through `String(describing:)` of a struct,
    /// which runs the runtime's reflection and demangler: ~0.3 MiB more resident code on a gateway
    /// for every outage of its node. Its parts describe themselves.
    static func describe(_ error: any Error) -> String {
        guard let e = error as? NIOConnectionError, !e.connectionErrors.isEmpty else { return "\(error)" }
        return e.connectionErrors.map { "\($0.target): \($0.error)" }.joined(separator: "; ")
    }
}
