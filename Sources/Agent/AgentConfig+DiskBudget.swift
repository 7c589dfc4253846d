internal import AliceDB
internal import MQTT
internal import TOMLConfig

/// The disk's bounds in the configuration: how much WAL may wait on disk, and what happens when
/// the segment files reach their budget.
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
