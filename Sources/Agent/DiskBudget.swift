public import AliceDB
internal import Logging
internal import MQTT
internal import ServiceLifecycle
internal import TOMLConfig

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

extension AgentConfig {
    /// 32 MiB: about a million one-point WAL records (the agent's usual record: one message of one
    /// series, ~34 bytes), what a 4 MiB `memory_limit` buffers when a few hundred series share it.
    /// Many more series flush early: each flush makes shorter segments (more bytes a point, more
    /// CPU a point), so a smaller bound trades segment bytes for WAL bytes; the commit that set
    /// this measured both.
    public static let defaultWALMaxBytes = 32 << 20

    /// `[storage] wal_max_bytes` and `on_full`.
    static func parseDiskBudget(_ s: ConfigTable, _ reader: ConfigReader, into c: inout AgentConfig)
        throws(ConfigError)
    {
        let t = "storage"
        if let w = try reader.size(s, "wal_max_bytes", t) {
            guard w >= 1 << 20 else {
                throw reader.error(
                    t, "wal_max_bytes", "must be at least 1MiB (the WAL is kept in files of a quarter of it)")
            }
            c.walMaxBytes = w
        }
        guard let text = try reader.string(s, "on_full", t) else { return }
        guard let policy = RetentionPolicy.FullPolicy(rawValue: text) else {
            throw reader.error(t, "on_full", "must be \"drop_oldest\" or \"pause\", not \"\(text)\"")
        }
        guard c.retention?.maxBytes != nil else {
            throw reader.error(t, "on_full", "says what happens at retention_max_bytes: set that too")
        }
        if policy == .pause && c.mqtt.cleanSession {
            throw reader.error(
                t, "on_full",
                "\"pause\" needs [mqtt] clean_session = false: with a clean session the broker drops what is "
                    + "published while intake is paused")
        }
        if policy == .pause && c.mqtt.protocolVersion == 5 {
            // libmosquitto's asynchronous connect sends no session expiry: MQTT 5 ends the session
            // with the connection.
            throw reader.error(
                t, "on_full",
                "\"pause\" needs [mqtt] protocol = \"3.1.1\": under MQTT 5 the agent's session ends with its "
                    + "connection, and the broker would drop what is published while intake is paused")
        }
        c.retention?.onFull = policy
    }
}

extension Agent {
    /// Pauses or resumes intake as the database's disk status asks: after every hand-over of
    /// points (`flushPending`) and four times a second (`DiskBudgetService`).
    func checkDiskStatus() {
        let want = IntakePause(db.diskStatus)
        if let want {
            session?.pause()  // again each time: a session started by a reload begins unpaused
            if want.reason == intakePause?.reason {
                intakePause = want  // the figures move
                return
            }
            logger.warning(
                config.mqtt.cleanSession || config.mqtt.protocolVersion == 5
                    ? "intake paused; without a persistent session the broker drops what is published meanwhile"
                    : "intake paused; the broker holds new messages",
                metadata: ["why": "\(want.message)"])
            SystemdNotify.send("STATUS=\(want.message)")
        } else if let was = intakePause {
            session?.resume()
            logger.warning("intake resumed", metadata: ["was": "\(was.message)"])
            SystemdNotify.send("STATUS=ingesting")
        }
        intakePause = want
    }

    /// The disk's gauges for /metrics.
    func diskMetrics(_ out: inout PrometheusText) {
        let s = db.diskStatus
        out.metric(
            "alicedb_intake_paused", "gauge", "1 while intake is paused, by reason.",
            IntakePause.Reason.allCases.map { ("{reason=\"\($0.rawValue)\"}", intakePause?.reason == $0 ? 1 : 0) })
        out.metric(
            "alicedb_disk_full", "gauge", "1 while writes find the disk full (points wait in memory).",
            [("", s.diskFull == nil ? 0 : 1)])
        out.metric(
            "alicedb_disk_held_bytes", "gauge", "Bytes of points held in memory for want of disk.",
            [("", Double(s.heldBytes))])
        out.metric(
            "alicedb_wal_bytes", "gauge", "Bytes of the WAL files, written or buffered.", [("", Double(s.walBytes))])
        out.metric(
            "alicedb_wal_max_bytes", "gauge", "The WAL's bound (wal_max_bytes).", [("", Double(config.walMaxBytes))])
        out.metric("alicedb_segment_bytes", "gauge", "Bytes of the segment files.", [("", Double(s.segmentBytes))])
        if let b = s.budgetBytes {
            out.metric(
                "alicedb_disk_budget_bytes", "gauge", "The segment files' budget (retention_max_bytes).",
                [("", Double(b))])
        }
    }
}

/// Checks the database's disk status four times a second, so that intake resumes when there is
/// room again even while no message arrives (paused, none can).
struct DiskBudgetService: Service {
    let agent: Agent

    func run() async throws {
        while !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(250)) }
            } catch {
                return  // shut down (or cancelled)
            }
            await agent.checkDiskStatus()
        }
    }
}
