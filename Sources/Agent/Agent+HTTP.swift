internal import AliceDB
internal import FleetStatus

/// What the HTTP listener (`MetricsServer`) asks of the agent: its health, its metrics and its
/// status, each read on the agent's actor in one go.
extension Agent {
    /// The listener's view of this agent.
    nonisolated var endpoints: HTTPEndpoints {
        HTTPEndpoints(
            problem: { await self.healthProblem() },
            metrics: { await self.metricsText() },
            status: { StatusJSON.encode(await self.status()) })
    }

    /// Why `/healthz` says no (nil: healthy): intake is paused, or the broker is not connected.
    func healthProblem() -> String? {
        if let pause = intakePause { return pause.message }
        return counters.connected ? nil : "broker disconnected"
    }

    /// `/metrics`: the uplink's figures first (it is an actor of its own), then everything else.
    nonisolated func metricsText() async -> String {
        var figures: (UplinkCounters, UplinkLag)? = nil
        if let u = uplink { figures = (await u.counters, (try? database.uplinkLag()) ?? UplinkLag()) }
        return await prometheusText(uplinkSnapshot: figures)
    }

    /// Counters, storage and memory in the Prometheus text exposition format.
    func prometheusText(uplinkSnapshot: (counters: UplinkCounters, lag: UplinkLag)? = nil) -> String {
        AgentMetrics(snapshot: snapshot(), uplink: uplinkSnapshot, db: db).text()
    }
}
