internal import AliceDB
internal import FleetStatus
internal import Logging
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix

/// The agent's loopback HTTP listener: `/healthz` and Prometheus text `/metrics`.
///
/// Plain SwiftNIO rather than a web framework: two fixed GET routes do not need routing or
/// middleware, and a framework pulled full Foundation into the agent (+7 MiB resident).
struct MetricsServer {
    let host: String
    /// The port to bind; 0 lets the system choose one (`Agent.httpPort` and `onListening` tell which).
    let port: Int
    let agent: Agent
    let logger: Logger
    /// Called once the listener is bound, with its port.
    var onListening: @Sendable (Int) async -> Void = { _ in }

    /// One event-loop thread is plenty for two loopback endpoints (the default group has one per core).
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// Serves until the task is cancelled.
    func run() async throws {
        let agent = self.agent
        let channel = try await ServerBootstrap(group: MetricsServer.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    // A connection that sends nothing for 10 s is closed (a stuck or hostile client
                    // must not hold sockets forever); malformed requests get 400 from NIO's handler.
                    try ch.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(10)))
                    try ch.pipeline.syncOperations.addHandler(CloseWhenIdle())
                    try ch.pipeline.syncOperations.configureHTTPServerPipeline()
                    try ch.pipeline.syncOperations.addHandler(HTTPResponder(agent: agent))
                }
            }
            .bind(host: host, port: port).get()
        let bound = channel.localAddress?.port ?? port
        await agent.listening(onPort: bound)
        logger.info("HTTP listener up", metadata: ["address": "\(host):\(bound)"])
        await onListening(bound)
        try await withTaskCancellationHandler {
            try await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}

/// Closes the connection on the idle event of the IdleStateHandler before it.
final class CloseWhenIdle: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// Answers one request per connection.
final class HTTPResponder: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let agent: Agent
    private var request: HTTPRequestHead?

    init(agent: Agent) { self.agent = agent }

    static func answer(_ agent: Agent, _ head: HTTPRequestHead) async -> (HTTPResponseStatus, String, String) {
        guard head.method == .GET || head.method == .HEAD else {
            return (.methodNotAllowed, "text/plain", "GET only\n")
        }
        switch head.uri.split(separator: "?").first.map(String.init) ?? "/" {
        case "/healthz":
            if let pause = await agent.intakePause { return (.serviceUnavailable, "text/plain", pause.message + "\n") }
            let up = await agent.counters.connected
            return up ? (.ok, "text/plain", "ok\n") : (.serviceUnavailable, "text/plain", "broker disconnected\n")
        case "/metrics":
            var snapshot: (UplinkCounters, UplinkLag)? = nil
            if let u = agent.uplink { snapshot = (await u.counters, (try? agent.database.uplinkLag()) ?? UplinkLag()) }
            return (.ok, "text/plain; version=0.0.4", await agent.prometheusText(uplinkSnapshot: snapshot))
        case "/v1/status":
            return (.ok, "application/json", StatusJSON.encode(await agent.status()))
        default:
            return (.notFound, "text/plain", "try /healthz, /metrics or /v1/status\n")
        }
    }

    /// A malformed request: NIO's protocol error handler has answered 400; end the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            let agent = self.agent
            let promise = context.eventLoop.makePromise(of: (HTTPResponseStatus, String, String).self)
            promise.completeWithTask { await HTTPResponder.answer(agent, head) }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { status, type, body in
                let (handler, context) = bound.value
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: type)
                headers.add(name: "Content-Length", value: "\(body.utf8.count)")
                headers.add(name: "Connection", value: "close")
                context.write(
                    handler.wrapOutboundOut(
                        .head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
                if head.method != .HEAD {
                    context.write(handler.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
                }
                let channel = context.channel
                context.writeAndFlush(handler.wrapOutboundOut(.end(nil))).whenComplete { _ in
                    channel.close(promise: nil)
                }
            }
        }
    }
}

extension Agent {
    /// Counters, storage and memory in the Prometheus text exposition format.
    func prometheusText(uplinkSnapshot: (counters: UplinkCounters, lag: UplinkLag)? = nil) -> String {
        var out = PrometheusText()
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Double)]) {
            out.metric(name, type, help, samples.map { (labels: $0.0, value: $0.1) })
        }
        let c = counters
        let w = db.counters
        let stats = try? db.stats()
        metric("alicedb_messages_total", "counter", "MQTT messages received.", [("", Double(c.messages))])
        metric("alicedb_points_total", "counter", "Points handed to the engine.", [("", Double(c.points))])
        metric(
            "alicedb_bad_payloads_total", "counter", "Payloads refused, by subscription.",
            config.subscriptions.map {
                ("{subscription=\"\(escape($0.topic))\"}", Double(c.badPayloads[$0.topic] ?? 0))
            })
        metric(
            "alicedb_unmatched_messages_total", "counter", "Messages no subscription mapped.",
            [("", Double(c.unmatched))])
        metric("alicedb_broker_connected", "gauge", "1 when connected to the broker.", [("", c.connected ? 1 : 0)])
        metric(
            "alicedb_broker_reconnects_total", "counter", "Connections lost and re-established.",
            [("", Double(c.reconnects))])
        appendLivenessMetrics(to: &out)
        metric("alicedb_segments_written_total", "counter", "Segments written since start.", [("", Double(w.segments))])
        metric(
            "alicedb_segment_bytes_written_total", "counter", "Segment bytes written since start.",
            [("", Double(w.segmentBytes))])
        metric(
            "alicedb_late_points_total", "counter", "Points older than their series' flushed data.",
            [("", Double(w.late))])
        metric(
            "alicedb_retention_deleted_points_total", "counter", "Points deleted by retention.",
            [("", Double(w.retentionPoints))])
        metric(
            "alicedb_flushes_total", "counter", "MemTable flushes by cause.",
            [
                ("{cause=\"full\"}", Double(w.flushesFull)), ("{cause=\"budget\"}", Double(w.flushesBudget)),
                ("{cause=\"age\"}", Double(w.flushesAge)), ("{cause=\"explicit\"}", Double(w.flushesExplicit)),
                ("{cause=\"wal\"}", Double(w.flushesWAL)),
            ])
        diskMetrics(&out)
        if let s = stats {
            metric(
                "alicedb_stored_points", "gauge", "Points stored (segments and MemTables).", [("", Double(s.points))])
            metric("alicedb_disk_bytes", "gauge", "Bytes of the data directory.", [("", Double(s.bytes))])
            metric("alicedb_memtable_points", "gauge", "Points waiting in MemTables.", [("", Double(s.bufferedPoints))])
            metric("alicedb_series", "gauge", "Series in the catalog.", [("", Double(s.series.count))])
        }
        metric("alicedb_memtable_budget_bytes", "gauge", "MemTable memory budget.", [("", Double(config.memoryLimit))])
        let memory = ProcessMemory.current()
        metric(
            "alicedb_resident_memory_bytes", "gauge", "Resident set size of the process (VmRSS).",
            [("", Double(memory.rss))])
        metric(
            "alicedb_resident_memory_peak_bytes", "gauge", "Peak resident set size (VmHWM).", [("", Double(memory.hwm))]
        )
        metric(
            "alicedb_malloc_arenas", "gauge", "Arenas of the C allocator (1: tuned; more hold freed memory twice).",
            [("", Double(ProcessMemory.mallocArenas()))])
        metric(
            "alicedb_memtable_bytes", "gauge", "Bytes the MemTables hold allocated.", [("", Double(db.memTableBytes))])
        if let u = uplinkSnapshot {
            let lag = u.lag
            metric(
                "alicedb_uplink_batches_total", "counter", "Batches the cloud node acknowledged.",
                [("", Double(u.counters.batches))])
            metric(
                "alicedb_uplink_sent_bytes_total", "counter", "Bytes of acknowledged batches.",
                [("", Double(u.counters.bytesSent))])
            metric(
                "alicedb_uplink_segments_total", "counter", "Segments acknowledged, by outcome at the node.",
                [
                    ("{outcome=\"sent\"}", Double(u.counters.segmentsSent)),
                    ("{outcome=\"duplicate\"}", Double(u.counters.duplicates)),
                    ("{outcome=\"rejected\"}", Double(u.counters.rejected)),
                ])
            metric(
                "alicedb_uplink_failures_total", "counter", "Upload attempts that failed (retried).",
                [("", Double(u.counters.failures))])
            metric(
                "alicedb_uplink_unsupported_features", "gauge",
                "Format features the cloud node cannot read (1 each; the segments wait for its upgrade).",
                u.counters.unsupportedFeatures.map { ("{feature=\"\(escape($0))\"}", 1) })
            metric(
                "alicedb_uplink_lag_segments", "gauge", "Segments not yet acknowledged by the cloud node.",
                [("", Double(lag.segments))])
            metric(
                "alicedb_uplink_lag_bytes", "gauge", "Segment bytes not yet acknowledged.", [("", Double(lag.bytes))])
            metric(
                "alicedb_uplink_lag_seconds", "gauge", "Seconds since nothing waited to be shipped.",
                [("", lag.seconds)])
            metric(
                "alicedb_uplink_acknowledged_points_total", "counter", "Points acknowledged since the outbox began.",
                [("", Double(lag.state?.acknowledgedPoints ?? 0))])
        }
        metric(
            "alicedb_retention_unshipped_deleted_segments_total", "counter",
            "Segments the disk budget deleted before the uplink had shipped them.",
            [("", Double(w.retentionUnshippedSegments))])
        metric(
            "alicedb_retention_unshipped_deleted_points_total", "counter",
            "Points the disk budget deleted before the uplink had shipped them.",
            [("", Double(w.retentionUnshippedPoints))])
        return out.text
    }

    private func escape(_ s: String) -> String { PrometheusText.escape(s) }
}
