internal import AliceDB
internal import FleetStatus
internal import ReadAPI
internal import Synchronization

/// What the HTTP listener (`MetricsServer`) asks of the agent: its health, its metrics and its
/// status, each read on the agent's actor in one go; and the read API, answered off the actor
/// from the engine (which has its own lock), so that a long query does not hold up intake.
extension Agent {
    /// The listener's view of this agent; with `[http] query = true` also the read API over its engine.
    var endpoints: HTTPEndpoints {
        HTTPEndpoints(
            problem: { await self.healthProblem() },
            metrics: { await self.metricsText() },
            status: { StatusJSON.encode(await self.status()) },
            query: config.query.map { q in
                QueryEndpoints(
                    store: DatabaseReadStore(name: q.gateway, db: db), maxScanPoints: q.maxScanPoints,
                    token: { self.readerToken.withLock { $0 } })
            })
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
