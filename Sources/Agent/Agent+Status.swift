internal import AliceDB
public import FleetStatus
internal import MQTT

/// What the agent's reports are made of: its state at one instant (`AgentSnapshot`), and the
/// status built from it.
extension Agent {
    /// The agent's own state now, for a report.
    func snapshot() -> AgentSnapshot {
        AgentSnapshot(
            counters: counters, config: config, liveness: liveness, intakePause: intakePause,
            uptime: ContinuousClock.now - startedAt)
    }

    /// The gateway's health on one screen (`GET /v1/status`, `alicedb status`).
    public func status() async -> AgentStatus {
        var status = AgentStatus(snapshot(), db: db)
        if let uplink, let options = config.uplink {
            let u = await uplink.counters
            status.uplink = .init(url: options.url, u, (try? db.uplinkLag()) ?? UplinkLag())
        }
        return status
    }
}
