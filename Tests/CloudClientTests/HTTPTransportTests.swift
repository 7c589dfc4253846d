import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

@testable import CloudClient

/// The agent's HTTP/1.1 client against a real HTTP server on 127.0.0.1 whose behaviour each test
/// picks: a kept connection is reused, one the server drops is replaced, a silent server times
/// out, a long answer is cut at the limit.
@Suite struct HTTPTransportTests {
    /// A deadline the answers here always meet: these tests are about connections, not time, and on
    /// a loaded two-core CI a test's own task can wait seconds for a pool thread between its steps
    /// (the deadline runs from before the connection is made). One failed at 10 s once.
    static func deadline() -> NIODeadline { .now() + .seconds(120) }

    @Test func urlsAreSplitIntoAnEndpoint() throws {
        let plain = try HTTPTransport.parse("http://node.example:8080/api/")
        #expect(
            plain
                == .init(
                    tls: false, host: "node.example", port: 8080, pathPrefix: "/api", hostHeader: "node.example:8080"))
        let secure = try HTTPTransport.parse("https://node.example")
        #expect(secure == .init(tls: true, host: "node.example", port: 443, pathPrefix: "", hostHeader: "node.example"))
        let v6 = try HTTPTransport.parse("https://[::1]:443/x")
        #expect(v6 == .init(tls: true, host: "::1", port: 443, pathPrefix: "/x", hostHeader: "[::1]"))
        let v6Port = try HTTPTransport.parse("http://[fe80::1]:9000")
        #expect(v6Port.host == "fe80::1" && v6Port.port == 9000 && v6Port.hostHeader == "[fe80::1]:9000")
        for bad in [
            "ftp://x", "node:80", "http://", "http://:80", "http://h:0", "http://h:99999", "http://h:x",
            "http://[::1", "http://[::1]x", "http://user:pw@h/",
        ] {
            #expect(throws: TransportError.self, "\(bad)") { try HTTPTransport.parse(bad) }
        }
    }

    @Test func aKeptConnectionIsReused() async throws {
        let server = try await TestServer.start(.answer)
        let transport = try server.transport()
        for n in 1...3 {
            let r = try await transport.send(
                .GET, "/ping", headers: [:], body: nil, deadline: Self.deadline(), maxBytes: 1024)
            #expect(r.status == 200 && String(buffer: r.body) == "request \(n) on connection 1")
        }
        #expect(server.connections == 1)
        await transport.shutdown()
        try await server.stop()
    }

    @Test func aConnectionTheServerDroppedIsReplacedAndTheRequestSentAgain() async throws {
        let server = try await TestServer.start(.dropSecondRequest)
        let transport = try server.transport()
        let body = Array(repeating: UInt8(ascii: "x"), count: 200_000)  // several chunks
        let first = try await transport.send(
            .POST, "/a", headers: [:], body: body, deadline: Self.deadline(), maxBytes: 1024)
        #expect(String(buffer: first.body) == "request 1 on connection 1")
        #expect(first.headers["X-Received"] == ["200000"])
        // The server closes the kept connection when the second request arrives, without answering.
        let second = try await transport.send(
            .POST, "/b", headers: [:], body: body, deadline: Self.deadline(), maxBytes: 1024)
        #expect(String(buffer: second.body) == "request 1 on connection 2")
        #expect(second.headers["X-Received"] == ["200000"])
        #expect(server.connections == 2)
        await transport.shutdown()
        try await server.stop()
    }

    @Test func aRefusedConnectionNamesTheAddressWithoutReflection() async throws {
        // A port bound but not listening refuses connections, and no test running beside this one
        // can take it over (a closed server's port can be: it then answers, or stays silent).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, size) == 0 && getsockname(fd, $0, &size) == 0
            }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let transport = try HTTPTransport(
            url: "http://127.0.0.1:\(port)", tls: nil, group: MultiThreadedEventLoopGroup.singleton,
            connectTimeout: .seconds(5))
        do {
            _ = try await transport.send(
                .GET, "/", headers: [:], body: nil, deadline: .now() + .seconds(10), maxBytes: 1024)
            Issue.record("an answer from a port nothing listens on")
        } catch let e as TransportError {
            #expect(e.beforeAnswer && e.cause != nil)
            #expect(
                e.description.hasPrefix("cannot connect: [IPv4]127.0.0.1/127.0.0.1:\(port): ")
                    && !e.description.contains("SingleConnectionFailure"), "\(e)")
        }
    }

    @Test func aSilentServerTimesOutAndALongAnswerIsCut() async throws {
        let silent = try await TestServer.start(.silent)
        let t1 = try silent.transport()
        let start = ContinuousClock.now
        await #expect(throws: TransportError.self) {
            _ = try await t1.send(
                .GET, "/", headers: [:], body: nil, deadline: .now() + .milliseconds(300), maxBytes: 1024)
        }
        #expect(ContinuousClock.now - start < .seconds(5))
        try await silent.stop()

        let long = try await TestServer.start(.answer)
        let t2 = try long.transport()
        await #expect(throws: TransportError.self) {
            _ = try await t2.send(.GET, "/", headers: [:], body: nil, deadline: Self.deadline(), maxBytes: 5)
        }
        // The connection of a cut answer is not kept: the next request opens a new one.
        let r = try await t2.send(.GET, "/", headers: [:], body: nil, deadline: Self.deadline(), maxBytes: 1024)
        #expect(String(buffer: r.body) == "request 1 on connection 2")
        await t2.shutdown()
        try await long.stop()
    }
}

/// An HTTP/1.1 server on 127.0.0.1 that answers `request <n> on connection <m>`, or misbehaves.
private final class TestServer: Sendable {
    enum Mode { case answer, dropSecondRequest, silent }

    let channel: any Channel
    private let tally: Tally

    private init(channel: any Channel, tally: Tally) {
        self.channel = channel
        self.tally = tally
    }

    /// Connections accepted so far.
    var connections: Int { tally.count.withLock { $0 } }

    static func start(_ mode: Mode) async throws -> TestServer {
        let tally = Tally()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let n = tally.count.withLock {
                    $0 += 1
                    return $0
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(mode: mode, connection: n))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestServer(channel: channel, tally: tally)
    }

    func transport() throws -> HTTPTransport {
        let port = channel.localAddress?.port ?? 0
        return try HTTPTransport(
            url: "http://127.0.0.1:\(port)", tls: nil, group: MultiThreadedEventLoopGroup.singleton,
            connectTimeout: .seconds(5))
    }

    func stop() async throws { try await channel.close() }

    private final class Tally: Sendable {
        let count = Mutex(0)
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let mode: Mode
        let connection: Int
        var requests = 0
        var received = 0

        init(mode: Mode, connection: Int) {
            self.mode = mode
            self.connection = connection
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head: received = 0
            case .body(let part): received += part.readableBytes
            case .end: answer(context: context)
            }
        }

        func answer(context: ChannelHandlerContext) {
            requests += 1
            switch mode {
            case .silent: return
            case .dropSecondRequest where requests == 2:
                context.close(promise: nil)
                return
            default: break
            }
            let text = "request \(requests) on connection \(connection)"
            var head = HTTPResponseHead(version: .http1_1, status: .ok)
            head.headers.add(name: "Content-Length", value: String(text.utf8.count))
            head.headers.add(name: "X-Received", value: String(received))
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
