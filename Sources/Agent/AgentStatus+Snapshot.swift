internal import AliceDB
internal import FleetStatus
internal import MQTT

/// `/v1/status` and `alicedb status` from the agent's snapshot and its database: the rendering
/// lives beside the status type's fields, the agent only takes the snapshot.
extension AgentStatus {
    /// The status without its uplink part (`uplink` is nil).
    init(_ s: AgentSnapshot, db: Database, nowMs: Int64 = FileIO.wallMillis()) {
        let c = s.counters
        let config = s.config
        let liveness = s.liveness.counters
        let stats = try? db.stats()
        self.init(
            nowMs: nowMs,
            uptimeSeconds: s.uptime.inSeconds,
            broker: .init(
                address: "\(config.mqtt.host):\(config.mqtt.port)", connected: c.connected, reconnects: c.reconnects,
                resubscribes: liveness.stallResubscribes + liveness.sessionResubscribes,
                stallReconnects: liveness.stallReconnects),
            intakePaused: s.intakePause?.message,
            subscriptions: s.liveness.stats(now: .now).map {
                AgentStatus.Subscription(
                    topic: $0.filter, messages: $0.messages, badPayloads: c.badPayloads[$0.filter] ?? 0,
                    ratePerSecond: $0.messagesPerSecond, lastMessageAgeSeconds: $0.silence.inSeconds,
                    stallTimeoutSeconds: $0.stallTimeout?.inSeconds, stalled: $0.stalled, refused: $0.refused)
            },
            storage: .init(
                path: config.storagePath, series: stats?.series.count ?? 0, storedPoints: stats?.points ?? 0,
                memtablePoints: stats?.bufferedPoints ?? 0, memtableBytes: db.memTableBytes,
                memtableBudgetBytes: config.memoryLimit, walBytes: stats?.walBytes ?? 0,
                walMaxBytes: config.walMaxBytes,
                diskBytes: stats?.bytes ?? 0, diskBudgetBytes: config.retention?.maxBytes,
                onFull: config.retention?.maxBytes == nil ? nil : config.retention?.onFull.rawValue),
            uplink: nil)
    }
}

extension AgentStatus.Uplink {
    /// The uplink's part of the status: where it ships, its counters and how far it lags.
    init(url: String, _ u: UplinkCounters, _ lag: UplinkLag) {
        self.init(
            url: url, lagSegments: lag.segments, lagBytes: lag.bytes, lagSeconds: lag.seconds,
            batches: u.batches, failures: u.failures, lastSuccessMs: u.lastSuccessMillis, lastError: u.lastError,
            lastErrorMs: u.lastErrorMillis, unsupportedFeatures: u.unsupportedFeatures)
    }
}
