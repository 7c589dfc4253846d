/// The agent's own state at one instant, as its reports show it (`/metrics`: `AgentMetrics`;
/// `/v1/status`: `AgentStatus.init(_:db:)`).
///
/// Taken on the agent's actor in one go, so that a report's figures agree with one another; the
/// reports are rendered from it and need nothing else of the agent.
struct AgentSnapshot {
    var counters: AgentCounters
    var config: AgentConfig
    var liveness: Liveness
    var intakePause: IntakePause?
    /// Since the agent was made.
    var uptime: Duration
}
