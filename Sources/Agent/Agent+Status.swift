internal import AliceDB
public import FleetStatus
internal import MQTT

extension Agent {
    /// The gateway's health on one screen (`GET /v1/status`, `alicedb status`).
    public func status() async -> AgentStatus {
        let now = FileIO.wallMillis()
        let c = counters
        let stats = try? db.stats()
        let elapsed = ContinuousClock.now - startedAt
        var status = AgentStatus(
            nowMs: now,
            uptimeSeconds: elapsed.inSeconds,
            broker: .init(
                address: "\(config.mqtt.host):\(config.mqtt.port)", connected: c.connected, reconnects: c.reconnects,
                resubscribes: livenessCounters.stallResubscribes + livenessCounters.sessionResubscribes,
                stallReconnects: livenessCounters.stallReconnects),
            intakePaused: intakePause?.message,
            subscriptions: subscriptionStats().map {
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
        if let uplink, let options = config.uplink {
            let u = await uplink.counters
            let lag = (try? db.uplinkLag()) ?? UplinkLag()
            status.uplink = .init(
                url: options.url, lagSegments: lag.segments, lagBytes: lag.bytes, lagSeconds: lag.seconds,
                batches: u.batches, failures: u.failures, lastSuccessMs: u.lastSuccessMillis, lastError: u.lastError,
                lastErrorMs: u.lastErrorMillis, unsupportedFeatures: u.unsupportedFeatures)
        }
        return status
    }

}
