/// Counters of the ingest pipeline.
public struct AgentCounters: Sendable {
    public var messages = 0
    public var points = 0
    public var badPayloads: [String: Int] = [:]  // by subscription topic filter
    public var unmatched = 0
    public var connected = false
    public var reconnects = 0
}
