public import AliceDB
public import Logging
internal import MQTT
internal import ServiceLifecycle
internal import Synchronization

/// The gateway daemon's core: MQTT messages → points → engine, with batching across messages.
public actor Agent {
    public private(set) var config: AgentConfig
    public private(set) var counters = AgentCounters()
    /// When the agent was made (the status's uptime).
    let startedAt = ContinuousClock.now
    let db: Database
    let logger: Logger
    /// Ships segments to the cloud node (nil without `[uplink]`).
    public let uplink: Uplink?
    /// The read API's token (`[http] reader_token`), which SIGHUP may change; empty while it is off.
    let readerToken: Mutex<String>
    /// The port the HTTP listener is bound to (nil before it listens, or without `[http] listen`).
    public private(set) var httpPort: Int?
    var session: MQTTSession?
    /// Per-subscription traffic and the stall check (Agent+Liveness).
    var liveness = Liveness()
    /// Why intake is paused (nil: it is not); see Agent+DiskBudget.swift.
    public internal(set) var intakePause: IntakePause?
    private var pending = PendingPoints()
    /// Exact topic → subscription and series names (cleared on reload).
    private var routes = RouteCache()
    private var flushScheduled = false
    private var stopping = false
    /// The running services (`run`), and whether `stop` came before they started.
    var group: ServiceGroup?
    var stopRequested = false
    /// One element per scheduled flush, consumed by `IntakeService`.
    let flushRequests: AsyncStream<Void>
    private let flushContinuation: AsyncStream<Void>.Continuation
    private var badLog = BadPayloadLog()
    static let batchPoints = 4096
    /// Points wait at most this long in the agent before they are in the WAL file (the window in which
    /// a crash of the process loses acknowledged QoS 1 messages; see docs/semantics.md).
    static let flushMillis = 10

    public init(config: AgentConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        readerToken = Mutex(config.query?.readerToken ?? "")
        (flushRequests, flushContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        var options = DatabaseOptions(
            sync: .interval(milliseconds: config.syncIntervalMs), memoryBudget: config.memoryLimit, logger: logger)
        options.retention = config.retention
        options.recompressAfterMilliseconds = config.recompressAfter.map { Int64($0 * 1000) }
        options.mergeSegments = config.mergeSegments
        // A flush (and a merge) fits at most this many points at once: the competition's buffers
        // for 16 384 points, not the library's 65 536, on a gateway's few hundred MiB.
        options.defaultCapacity = 1 << 14
        options.maxBufferAgeSeconds = config.maxBufferAge
        options.walMaxBytes = config.walMaxBytes
        options.outbox = config.uplink != nil
        options.maintenanceTimer = false  // the agent's MaintenanceService runs it
        let database = try Database(path: config.storagePath, options: options)
        db = database
        uplink = try config.uplink.map { try Uplink(db: database, options: $0, logger: logger) }
        liveness.configure(config.subscriptions, now: .now)
    }

    public nonisolated var database: Database { db }

    func listening(onPort port: Int) { httpPort = port }

    /// Starts the MQTT session (it connects and reconnects by itself) and tells systemd the agent is ready.
    func startIntake() throws {
        // Configuration, database and listener code has run: let its pages go before the traffic
        // starts, so the peak is not start-up code plus MemTables (see ProcessMemory).
        _ = ProcessMemory.releaseStartupPages()
        try startSession()
        SystemdNotify.send("READY=1\nSTATUS=ingesting")
    }

    func releaseStartupPages() {
        let released = ProcessMemory.releaseStartupPages()
        logger.debug("start-up pages released", metadata: ["bytes": "\(released)"])
    }

    /// Handles the session's events until intake stops (or the session ends on its own).
    func ingest() async {
        while let s = session {
            for await event in s.events { handle(event) }
            if stopping { break }
            if session === s { break }  // ended on its own
        }
    }

    /// Stops intake: the session ends, and `ingest` returns.
    func stopIntake() {
        SystemdNotify.send("STOPPING=1\nSTATUS=flushing MemTables")
        stopping = true
        session?.stop()
    }

    /// Every waiting point to the engine; with an uplink, every MemTable into segments for it to ship.
    func finishIntake() throws {
        flushPending()
        flushContinuation.finish()
        if uplink != nil {
            do { try db.flush() } catch {
                logger.error("flushing before the last upload failed", metadata: ["error": "\(error)"])
            }
        }
    }

    private func startSession() throws {
        let filters = config.subscriptions.map { (filter: $0.topic, qos: $0.qos) }
        let s = try MQTTSession(options: config.mqtt, subscriptions: filters)
        try s.start()
        session = s
        liveness.sessionStarted()
        logger.info(
            "connecting",
            metadata: ["broker": "\(config.mqtt.host):\(config.mqtt.port)", "subscriptions": "\(filters.count)"])
    }

    /// Applies a new configuration's subscriptions, mappings, `[uplink]` settings and read API token
    /// (SIGHUP); buffered points and the uplink's cursor stay. Adding or removing `[uplink]` needs a restart
    /// (the database keeps its outbox only with one).
    /// - Throws: when the new `[uplink]` cannot be applied; then nothing changes.
    public func reload(_ new: AgentConfig) async throws {
        if let uplink, let options = new.uplink {
            try await uplink.reconfigure(options)
            config.uplink = options
        } else if (uplink == nil) != (new.uplink == nil) {
            logger.warning("[uplink] was added or removed: that takes a restart; reloading the rest")
        }
        if let q = new.query, var running = config.query {
            // The token (reader_token, or reader_token_file read again) applies to the next request.
            readerToken.withLock { $0 = q.readerToken }
            running.readerToken = q.readerToken
            config.query = running
            if q.gateway != running.gateway || q.maxScanPoints != running.maxScanPoints {
                logger.warning(
                    "[http] gateway or max_scan_points changed: that takes a restart; the new reader token applies now")
            }
        } else if (new.query == nil) != (config.query == nil) {
            logger.warning("[http] query was turned on or off: that takes a restart; reloading the rest")
        }
        let oldFilters = config.subscriptions.map { "\($0.topic)|\($0.qos)" }
        config.subscriptions = new.subscriptions
        routes.clear()
        liveness.configure(new.subscriptions, now: .now)
        SystemdNotify.send("RELOADING=1")
        defer { SystemdNotify.send("READY=1\nSTATUS=ingesting") }
        logger.info("configuration reloaded", metadata: ["subscriptions": "\(new.subscriptions.count)"])
        if oldFilters != new.subscriptions.map({ "\($0.topic)|\($0.qos)" }) {
            let old = session
            try startSession()
            old?.stop()
        }
    }

    func handle(_ event: MQTTEvent) {
        switch event {
        case .connected(let sessionPresent):
            counters.connected = true
            logger.info("connected to the broker", metadata: ["session_present": "\(sessionPresent)"])
            livenessConnected(sessionPresent: sessionPresent)
        case .subscribed(let filter, let grantedQoS):
            subscriptionAnswered(filter: filter, grantedQoS: grantedQoS)
        case .disconnected(let error):
            if counters.connected && intakePause == nil { counters.reconnects += 1 }
            counters.connected = false
            liveness.disconnected()
            guard !stopping, let error else { return }
            if error.isAuthenticationFailure {
                // Retried all the same (the broker's password file may change), but it needs a fix.
                logger.error("the broker refused the credentials; retrying", metadata: ["error": "\(error)"])
            } else if error.connack != nil {
                logger.warning("the broker refused the connection; retrying", metadata: ["error": "\(error)"])
            } else {
                logger.warning("broker connection lost; reconnecting", metadata: ["error": "\(error)"])
            }
        case .message(let m):
            ingest(m)
        }
    }

    func ingest(_ m: MQTTMessage) {
        counters.messages += 1
        let route = routes.route(m.topic, config.subscriptions)
        for i in route.matching { liveness.record(subscription: i, retained: m.retained) }
        guard let index = route.subscription else {
            counters.unmatched += 1
            return
        }
        let sub = config.subscriptions[index]
        do throws(PayloadError) {
            switch sub.format {
            case .number:
                guard let series = route.series[0] else {
                    throw PayloadError(message: "topic \(m.topic) lacks a level of \(sub.series)")
                }
                add(series, m.arrivalMillis, try PayloadDecoder.number(m.payload, subscription: sub), sub.seriesOptions)
            case .json:
                let points = try PayloadDecoder.json(
                    m.payload, topic: m.topic, subscription: sub, series: route.series, arrivalMillis: m.arrivalMillis)
                for p in points { add(route.series[p.field]!, p.ts, p.value, sub.seriesOptions) }
            }
        } catch {
            bad(sub.topic, "\(m.topic): \(error.message)")
        }
        if pending.count >= Agent.batchPoints { flushPending() }
    }

    private func add(_ series: String, _ t: Int64, _ v: Double, _ options: SeriesOptions) {
        pending.add(series, t, v, options)
        scheduleFlush()
    }

    /// A flush `flushMillis` after the first point that waits (`IntakeService` waits on these
    /// requests); nothing runs while nothing arrives.
    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        flushContinuation.yield()
    }

    func scheduledFlush() {
        flushScheduled = false
        flushPending()
    }

    /// Counts a bad payload; logs at most one line per subscription per 10 s.
    private func bad(_ filter: String, _ message: String) {
        counters.badPayloads[filter, default: 0] += 1
        guard let more = badLog.note(filter) else { return }
        logger.warning(
            "bad payload",
            metadata: ["subscription": "\(filter)", "detail": "\(message)", "suppressed_since_last": "\(more)"])
    }

    /// Hands the batched points to the engine in one call: series it has not met, or met with
    /// another bound, are created or changed there, under its lock, with one catalog write.
    public func flushPending() {
        guard pending.count > 0 else { return }
        let batches = pending.take()
        do {
            for (b, error) in zip(batches, try db.putBatches(batches)) {
                if let error {
                    logger.error("storing points failed", metadata: ["series": "\(b.series)", "error": "\(error)"])
                } else {
                    counters.points += b.timestamps.count
                }
            }
        } catch {
            logger.error("storing points failed", metadata: ["error": "\(error)"])
        }
        // libmosquitto acknowledged these messages on arrival: get them out of this process now.
        do { try db.writeWAL() } catch { logger.error("writing the WAL failed", metadata: ["error": "\(error)"]) }
        checkDiskStatus()
    }
}
