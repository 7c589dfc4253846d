internal import Logging
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import ServiceLifecycle

/// The agent's loopback HTTP listener: `/healthz`, Prometheus text `/metrics` and `/v1/status`,
/// and with `[http] query = true` the cloud node's read API (`QueryEndpoints`), as a service of the agent's group (closed last, so that a scrape sees the shutdown through).
///
/// It knows HTTP and nothing of the agent: what it answers comes from `endpoints`. Plain SwiftNIO
/// rather than a web framework: fixed GET routes do not need routing or middleware, and a
/// framework pulled full Foundation into the agent (+7 MiB resident).
struct MetricsServer: Service {
    let host: String
    /// The port to bind; 0 lets the system choose one (`Agent.httpPort` and `onListening` tell which).
    let port: Int
    /// What each route answers.
    let endpoints: HTTPEndpoints
    /// A connection idle this long (nothing read, no part of an answer taken by the client) is closed.
    var idleTimeout = Duration.seconds(10)
    let logger: Logger
    /// Called once the listener is bound, with its port.
    var onListening: @Sendable (Int) async -> Void = { _ in }

    /// One event-loop thread is plenty for loopback endpoints (the default group has one per core;
    /// a query is answered off it, in a task).
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// Serves until a graceful shutdown (or until the task is cancelled).
    func run() async throws {
        do { try await cancelWhenGracefulShutdown { try await serve() } } catch is CancellationError {}
    }

    /// Serves until the task is cancelled.
    func serve() async throws {
        let endpoints = self.endpoints
        let idle = TimeAmount.nanoseconds(Int64(idleTimeout / .nanoseconds(1)))
        let channel = try await ServerBootstrap(group: MetricsServer.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Requests here are a few hundred bytes: small receive buffers, not NIO's default of up
            // to 64 KiB per read (pooled, they stood at 256 KiB in the agent's heap profile).
            .childChannelOption(
                .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 256, initial: 1024, maximum: 8192)
            )
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    // A connection idle for 10 s (no byte read, no part of an answer written) is
                    // closed: a stuck or hostile client must not hold sockets forever. The responder
                    // holds the idle event back while it works an answer out (a long query reads and
                    // writes nothing), and writes a long answer in parts, each one progress.
                    // Malformed requests get 400 from NIO's handler.
                    try ch.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: idle))
                    try ch.pipeline.syncOperations.configureHTTPServerPipeline()
                    try ch.pipeline.syncOperations.addHandler(HTTPResponder(endpoints: endpoints))
                    try ch.pipeline.syncOperations.addHandler(CloseWhenIdle())
                }
            }
            .bind(host: host, port: port).get()
        let bound = channel.localAddress?.port ?? port
        logger.info("HTTP listener up", metadata: ["address": "\(host):\(bound)"])
        await onListening(bound)
        try await withTaskCancellationHandler {
            try await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}
