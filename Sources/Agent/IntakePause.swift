internal import AliceDB

/// Why the agent takes no MQTT messages now: its MQTT session is paused (`MQTTSession.pause`), so
/// what is published meanwhile waits at the broker (QoS ≥ 1 and a persistent session).
public struct IntakePause: Sendable, Equatable {
    public enum Reason: String, Sendable, CaseIterable {
        /// A write found the disk full: accepted points wait in memory until it has room.
        case diskFull = "disk_full"
        /// `on_full = "pause"`: the segment files reached `retention_max_bytes` and retention may
        /// delete only what the uplink has acknowledged.
        case diskBudget = "disk_budget"
    }

    public var reason: Reason
    /// What /healthz says, e.g. `paused: disk budget full (1048600 of 1048576 bytes)`.
    public var message: String

    /// The pause the database's disk status calls for (nil: none).
    init?(_ s: DiskStatus) {
        if let full = s.diskFull {
            reason = .diskFull
            message = "paused: disk full (\(full)); \(s.heldBytes) bytes wait in memory"
        } else if s.budgetFull, let budget = s.budgetBytes {
            reason = .diskBudget
            message = "paused: disk budget full (\(s.segmentBytes) of \(budget) bytes)"
        } else {
            return nil
        }
    }
}
