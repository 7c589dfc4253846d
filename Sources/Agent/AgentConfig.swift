public import AliceDB
internal import FoundationEssentials
public import MQTT
public import TOMLConfig

/// One `[[subscribe]]` entry.
public struct Subscription: Sendable, Hashable {
    public enum Format: String, Sendable { case number, json }
    public var topic: String
    public var format: Format
    /// number: the series name template (`{1}` = topic level 1, `{topic}` = the whole topic).
    public var series: String
    /// json: series name template → field path (`a.b.c`).
    public var fields: [(series: String, path: String)]
    public var timestampField: String?
    public var bound: ErrorBound
    /// How the series' segments are entropy-coded (`profile`, default compact).
    public var profile: CodingProfile = .compact
    /// Milliseconds a stored timestamp may be from the arrival time (`time_tolerance`, default 0:
    /// exact); docs/semantics.md, "Time tolerance".
    public var timeTolerance: Int64 = 0
    public var qos: Int
    /// Largest payload accepted, bytes.
    public var maxPayload: Int
    /// Seconds without a message, while connected, before the agent subscribes again (and, after as
    /// long again, reconnects); 0: never. `[[subscribe]] stall_timeout`, else `[mqtt] stall_timeout`.
    public var stallTimeout: Double = 0

    public static func == (a: Subscription, b: Subscription) -> Bool {
        a.topic == b.topic && a.format == b.format && a.series == b.series && a.timestampField == b.timestampField
            && a.bound == b.bound && a.qos == b.qos && a.fields.map(\.series) == b.fields.map(\.series)
            && a.fields.map(\.path) == b.fields.map(\.path) && a.maxPayload == b.maxPayload
            && a.stallTimeout == b.stallTimeout && a.profile == b.profile && a.timeTolerance == b.timeTolerance
    }

    /// What a series written through this subscription is created (or updated) with.
    public var seriesOptions: SeriesOptions {
        SeriesOptions(bound: bound, profile: SeriesOptions.stored(profile), timeTolerance: timeTolerance)
    }
    public func hash(into h: inout Hasher) { h.combine(topic) }
}

/// The agent's resolved settings.
public struct AgentConfig: Sendable {
    public var mqtt = MQTTOptions()
    public var qos = 1
    public var storagePath = "/var/lib/alicedb"
    /// All MemTables together (points packed, 2–3 bytes each for sensor readings). 4 MiB keeps the whole agent within
    /// 24 MiB resident under load (docs/benchmarks.md); raise it for longer segments.
    public var memoryLimit = 4 << 20
    public var syncIntervalMs = 200
    public var retention: RetentionPolicy? = nil
    /// Seconds after which fast-profile segments are re-encoded into the compact profile (nil: never).
    public var recompressAfter: Double? = nil
    /// Whether housekeeping merges runs of a series' short, acknowledged segments into one
    /// (`[storage] merge_segments`, default true; `DatabaseOptions.mergeSegments`).
    public var mergeSegments = true
    /// Bytes the WAL may hold on disk before MemTables are flushed early (the default: AgentConfig+DiskBudget.swift).
    public var walMaxBytes = AgentConfig.defaultWALMaxBytes
    public var subscriptions: [Subscription] = []
    /// The loopback HTTP listener for /healthz, /metrics and /v1/status (nil: off).
    public var http: (host: String, port: Int)? = ("127.0.0.1", 9464)
    /// A connection to that listener that neither sends nor takes a byte for this long is closed
    /// (not a key: tests shorten it; an answer being worked out never counts as idle).
    var httpIdleTimeout = Duration.seconds(10)
    /// The read API on that listener (`[http] query = true`; nil: off).
    public var query: QueryOptions? = nil
    /// Shipping segments to a cloud node (nil: the agent keeps them locally only).
    public var uplink: UplinkOptions? = nil
    /// Seconds a point may wait in its MemTable before it is fitted into a segment (and so
    /// before the uplink can ship it). Unset, `uplinkMaxBufferAge` with `[uplink]` (fresh data
    /// upstream), else 600 (longer segments, fewer bytes; docs/benchmarks.md has the trade-off).
    public var maxBufferAge = 600.0
    /// The default `max_buffer_age` with `[uplink]`: a point is on the cloud node about a minute
    /// after it arrived.
    public static let uplinkMaxBufferAge = 60.0
    /// `[mqtt] stall_timeout`, the subscriptions' default (seconds; 0: off). Off by default: only the
    /// user knows how often each sensor publishes, and a timeout shorter than that period would
    /// resubscribe and reconnect on a topic that is merely quiet.
    public var stallTimeout = 0.0
    public var source = "(embedded default)"

    /// The configuration used when none is given: a local broker, everything under `sensors/`.
    public static let defaultText = """
        [mqtt]
        host = "127.0.0.1"
        port = 1883
        client_id = "alicedb-agent"
        qos = 1

        [storage]
        path = "./alicedb-data"
        memory_limit = "4MiB"

        [[subscribe]]
        topic = "sensors/#"
        series = "{topic}"
        format = "number"
        max_error = 0.0
        """

    public static func load(path: String) throws(ConfigError) -> AgentConfig {
        try parse(ConfigReader.read(path: path), file: path)
    }

    public static func parse(_ text: String, file: String) throws(ConfigError) -> AgentConfig {
        let (root, reader) = try ConfigReader.parse(text, file: file)
        var c = AgentConfig()
        c.source = file
        try reader.allow(root, table: "", keys: ["mqtt", "storage", "subscribe", "http", "uplink"])
        if let u = try reader.table(root, "uplink", in: "") { c.uplink = try parseUplink(u, reader) }
        if let h = try reader.table(root, "http", in: "") { try parseHTTP(h, reader, into: &c) }
        if let m = try reader.table(root, "mqtt", in: "") {
            try reader.allow(
                m, table: "mqtt",
                keys: [
                    "host", "port", "client_id", "qos", "clean_session", "protocol", "username", "password", "ca_file",
                    "cert_file", "key_file", "tls_insecure", "keepalive", "status_topic", "inflight", "tcp_nodelay",
                    "reconnect_min", "reconnect_max", "stall_timeout",
                ])
            let t = "mqtt"
            c.mqtt.host = try reader.string(m, "host", t) ?? c.mqtt.host
            c.mqtt.port = try reader.int(m, "port", t, 1...65535) ?? c.mqtt.port
            c.mqtt.clientID = try reader.string(m, "client_id", t) ?? c.mqtt.clientID
            c.qos = try reader.int(m, "qos", t, 0...2) ?? c.qos
            c.mqtt.cleanSession = try reader.bool(m, "clean_session", t) ?? c.mqtt.cleanSession
            if let p = try reader.string(m, "protocol", t) {
                guard p == "3.1.1" || p == "5" else {
                    throw reader.error(t, "protocol", "must be \"3.1.1\" or \"5\", not \"\(p)\"")
                }
                c.mqtt.protocolVersion = p == "5" ? 5 : 4
            }
            c.mqtt.username = try reader.string(m, "username", t)
            c.mqtt.password = try reader.string(m, "password", t)
            c.mqtt.caFile = try reader.string(m, "ca_file", t)
            c.mqtt.certFile = try reader.string(m, "cert_file", t)
            c.mqtt.keyFile = try reader.string(m, "key_file", t)
            if (c.mqtt.certFile == nil) != (c.mqtt.keyFile == nil) {
                throw reader.error(
                    t, c.mqtt.certFile == nil ? "key_file" : "cert_file", "cert_file and key_file go together")
            }
            c.mqtt.tlsInsecure = try reader.bool(m, "tls_insecure", t) ?? false
            c.mqtt.keepAlive = try reader.int(m, "keepalive", t, 5...65535) ?? c.mqtt.keepAlive
            c.mqtt.statusTopic = try reader.string(m, "status_topic", t)
            c.mqtt.inflight = try reader.int(m, "inflight", t, 1...65535) ?? c.mqtt.inflight
            c.mqtt.tcpNoDelay = try reader.bool(m, "tcp_nodelay", t) ?? c.mqtt.tcpNoDelay
            c.mqtt.reconnectMin = try reader.double(m, "reconnect_min", t) ?? c.mqtt.reconnectMin
            c.mqtt.reconnectMax = try reader.double(m, "reconnect_max", t) ?? c.mqtt.reconnectMax
            c.stallTimeout = try stallTimeout(m, t, reader) ?? c.stallTimeout
        }
        if let s = try reader.table(root, "storage", in: "") {
            let t = "storage"
            try reader.allow(
                s, table: t,
                keys: [
                    "path", "memory_limit", "sync_interval_ms", "retention_max_bytes", "retention_days",
                    "max_buffer_age", "wal_max_bytes", "on_full", "recompress_after", "merge_segments",
                ])
            c.recompressAfter = try reader.duration(s, "recompress_after", t)
            c.mergeSegments = try reader.bool(s, "merge_segments", t) ?? c.mergeSegments
            c.maxBufferAge = try reader.double(s, "max_buffer_age", t) ?? c.maxBufferAge
            guard c.maxBufferAge > 0 else { throw reader.error(t, "max_buffer_age", "must be a number of seconds > 0") }
            c.storagePath = try reader.string(s, "path", t) ?? c.storagePath
            c.memoryLimit = try reader.size(s, "memory_limit", t) ?? c.memoryLimit
            c.syncIntervalMs = try reader.int(s, "sync_interval_ms", t, 0...60_000) ?? c.syncIntervalMs
            let maxBytes = try reader.size(s, "retention_max_bytes", t)
            let days = try reader.double(s, "retention_days", t)
            if maxBytes != nil || days != nil {
                c.retention = RetentionPolicy(
                    maxAgeMilliseconds: days.map { Int64($0 * 86_400_000) }, maxBytes: maxBytes)
            }
            try parseDiskBudget(s, reader, into: &c)
        }
        guard let subs = try reader.tables(root, "subscribe") else {
            throw ConfigError(file: file, message: "no [[subscribe]] entries: nothing to do")
        }
        for (i, e) in subs.enumerated() {
            let t = "subscribe[\(i)]"
            try reader.allow(
                e, table: t,
                keys: [
                    "topic", "series", "format", "fields", "timestamp", "max_error", "max_error_pct", "qos",
                    "max_payload", "stall_timeout", "profile", "time_tolerance",
                ])
            guard let topic = try reader.string(e, "topic", t), !topic.isEmpty else {
                throw reader.error(t, "topic", "is required")
            }
            if let problem = TopicFilter.validate(topic) { throw reader.error(t, "topic", problem) }
            let formatText = try reader.string(e, "format", t) ?? "number"
            guard let format = Subscription.Format(rawValue: formatText) else {
                throw reader.error(t, "format", "must be \"number\" or \"json\", not \"\(formatText)\"")
            }
            var fields = [(series: String, path: String)]()
            if let f = try reader.table(e, "fields", in: t) {
                for key in reader.keys(f) {
                    guard let path = try? reader.string(f, key, t), !path.isEmpty else {
                        throw reader.error(t, "fields", "\"\(key)\" must name a JSON field path")
                    }
                    fields.append((key, path))
                }
            }
            if format == .json && fields.isEmpty {
                throw reader.error(t, "fields", "a json subscription needs fields = { \"series\" = \"path\" }")
            }
            if format == .number && !fields.isEmpty {
                throw reader.error(t, "fields", "only json subscriptions have fields")
            }
            let series = try reader.string(e, "series", t) ?? "{topic}"
            for template in [series] + fields.map(\.series) {
                if let problem = TopicFilter.checkTemplate(template, filter: topic) {
                    throw reader.error(t, format == .json ? "fields" : "series", problem)
                }
            }
            let maxError = try reader.double(e, "max_error", t) ?? 0
            let pct = try reader.double(e, "max_error_pct", t) ?? 0
            guard maxError >= 0, maxError.isFinite else {
                throw reader.error(t, "max_error", "must be a finite number ≥ 0")
            }
            guard pct >= 0, pct < 100 else { throw reader.error(t, "max_error_pct", "must be in 0..<100") }
            let profileText = try reader.string(e, "profile", t) ?? CodingProfile.compact.rawValue
            guard let profile = CodingProfile(rawValue: profileText) else {
                throw reader.error(t, "profile", "must be \"compact\" or \"fast\", not \"\(profileText)\"")
            }
            c.subscriptions.append(
                Subscription(
                    topic: topic, format: format, series: series, fields: fields,
                    timestampField: try reader.string(e, "timestamp", t),
                    bound: ErrorBound(absolute: maxError, relativePercent: pct), profile: profile,
                    timeTolerance: Int64(
                        try reader.int(e, "time_tolerance", t, 0...Int(SeriesOptions.maxTimeTolerance)) ?? 0),
                    qos: try reader.int(e, "qos", t, 0...2) ?? c.qos,
                    maxPayload: try reader.size(e, "max_payload", t) ?? 65536,
                    stallTimeout: try stallTimeout(e, t, reader) ?? c.stallTimeout))
        }
        if c.subscriptions.isEmpty { throw ConfigError(file: file, message: "no [[subscribe]] entries: nothing to do") }
        let storage = try reader.table(root, "storage", in: "")
        if c.uplink != nil && !(storage.map { reader.has($0, "max_buffer_age") } ?? false) {
            c.maxBufferAge = uplinkMaxBufferAge
        }
        return c
    }

    /// `stall_timeout` in `table`: 0 (off), or seconds from 1 to 30 days.
    private static func stallTimeout(_ t: ConfigTable, _ table: String, _ reader: ConfigReader) throws(ConfigError)
        -> Double?
    {
        guard let v = try reader.double(t, "stall_timeout", table) else { return nil }
        guard v == 0 || (1...2_592_000).contains(v) else {
            throw reader.error(table, "stall_timeout", "must be 0 (off) or 1 to 2592000 seconds (30 days), not \(v)")
        }
        return v
    }

    /// The resolved settings, for `--check`.
    public var summary: String {
        var s = "config: \(source)\n"
        s +=
            "mqtt: \(mqtt.host):\(mqtt.port) client_id=\(mqtt.clientID) protocol=\(mqtt.protocolVersion == 5 ? "5" : "3.1.1") qos=\(qos) "
        s +=
            "clean_session=\(mqtt.cleanSession) tls=\(mqtt.caFile != nil || mqtt.certFile != nil) auth=\(mqtt.username != nil)"
        s += mqtt.statusTopic.map { " status_topic=\($0)" } ?? ""
        s += " stall_timeout=\(Self.seconds(stallTimeout))"
        s += "\nstorage: path=\(storagePath) memory_limit=\(memoryLimit) bytes sync_interval_ms=\(syncIntervalMs)"
        s += " max_buffer_age=\(maxBufferAge)s wal_max_bytes=\(walMaxBytes)"
        if let u = uplink {
            s +=
                "\nuplink: \(u.segmentsURL) batch_bytes=\(u.batchBytes) max_bandwidth=\(u.maxBandwidth.map { "\($0) B/s" } ?? "unlimited")"
            s +=
                " interval=\(u.intervalSeconds)s timeout=\(u.timeoutSeconds)s retry=\(u.retryMin)…\(u.retryMax)s tls=\(u.url.hasPrefix("https://"))"
        } else {
            s += "\nuplink: off"
        }
        s += "\nhttp: " + (http.map { "\($0.host):\($0.port) (/healthz, /metrics, /v1/status)" } ?? "off")
        if let q = query { s += " query: gateway=\(q.gateway) max_scan_points=\(q.maxScanPoints) (reader token set)" }
        if let r = retention {
            s +=
                " retention: max_bytes=\(r.maxBytes.map(String.init) ?? "-") max_age_ms=\(r.maxAgeMilliseconds.map(String.init) ?? "-") on_full=\(r.onFull.rawValue)"
        }
        if let a = recompressAfter { s += " recompress_after=\(Self.seconds(a))" }
        if !mergeSegments { s += " merge_segments=false" }
        for (i, sub) in subscriptions.enumerated() {
            s += "\nsubscribe[\(i)]: \(sub.topic) format=\(sub.format.rawValue) qos=\(sub.qos) bound=\(sub.bound)"
            if sub.timeTolerance > 0 { s += " time_tolerance=\(sub.timeTolerance)ms" }
            if sub.format == .number { s += " series=\(sub.series)" }
            for f in sub.fields { s += " \(f.series)<-\(f.path)" }
            if let ts = sub.timestampField { s += " timestamp<-\(ts)" }
            s += " stall_timeout=\(Self.seconds(sub.stallTimeout))"
        }
        return s
    }

    private static func seconds(_ v: Double) -> String {
        v == 0 ? "off" : v == v.rounded() ? "\(Int(v))s" : "\(v)s"
    }
}
