internal import TOMLConfig

/// `[uplink]`: where and how the agent ships its segments.
public struct UplinkOptions: Sendable, Equatable {
    /// The cloud node's base URL (`http://host:port` or `https://…`); batches go to `/v1/segments`.
    public var url: String
    public var token: String
    /// A batch holds about this many bytes of segments (at least one frame). The default keeps the
    /// batch the agent builds, and builds again on every retry of an outage, small beside its
    /// memory budget; a gateway's backlog still drains in requests of a quarter megabyte.
    public var batchBytes = 256 << 10
    /// Bytes per second at most, averaged over each batch (nil: no cap).
    public var maxBandwidth: Int? = nil
    /// Seconds between looks at the outbox while it is empty.
    public var intervalSeconds = 5.0
    /// Seconds a request may take before it counts as failed.
    public var timeoutSeconds = 30.0
    /// Retry delays grow from `retryMin` to `retryMax` seconds (exponential, with jitter).
    public var retryMin = 1.0
    public var retryMax = 60.0
    public var caFile: String? = nil
    public var certFile: String? = nil
    public var keyFile: String? = nil
    public var tlsInsecure = false

    public init(url: String, token: String) {
        self.url = url
        self.token = token
    }

    /// The URL of the upload endpoint.
    public var segmentsURL: String { (url.hasSuffix("/") ? String(url.dropLast()) : url) + "/v1/segments" }
}

extension AgentConfig {
    static let uplinkKeys: Set<String> = [
        "url", "token", "token_file", "batch_bytes", "max_bandwidth", "interval", "timeout", "retry_min", "retry_max",
        "ca_file",
        "cert_file", "key_file", "tls_insecure",
    ]

    static func parseUplink(_ u: ConfigTable, _ reader: ConfigReader) throws(ConfigError) -> UplinkOptions {
        let t = "uplink"
        try reader.allow(u, table: t, keys: uplinkKeys)
        guard let url = try reader.string(u, "url", t), url.hasPrefix("http://") || url.hasPrefix("https://"),
            url.count > 8
        else {
            throw reader.error(t, "url", "is required: the cloud node's http:// or https:// address")
        }
        guard let token = try reader.secret(u, "token", t), !token.isEmpty else {
            throw reader.error(t, "token", "is required (or token_file)")
        }
        guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw reader.error(
                t, reader.has(u, "token_file") ? "token_file" : "token", "must be printable ASCII without spaces")
        }
        var o = UplinkOptions(url: url, token: token)
        o.batchBytes = try reader.size(u, "batch_bytes", t) ?? o.batchBytes
        guard o.batchBytes >= 4096 else { throw reader.error(t, "batch_bytes", "must be at least 4KiB") }
        o.maxBandwidth = try reader.size(u, "max_bandwidth", t)
        o.intervalSeconds = try reader.double(u, "interval", t) ?? o.intervalSeconds
        o.timeoutSeconds = try reader.double(u, "timeout", t) ?? o.timeoutSeconds
        o.retryMin = try reader.double(u, "retry_min", t) ?? o.retryMin
        o.retryMax = try reader.double(u, "retry_max", t) ?? o.retryMax
        for (key, v) in [
            ("interval", o.intervalSeconds), ("timeout", o.timeoutSeconds), ("retry_min", o.retryMin),
            ("retry_max", o.retryMax),
        ]
        where !(v > 0 && v <= 86400) {
            throw reader.error(t, key, "must be a number of seconds in (0, 86400]")
        }
        guard o.retryMin <= o.retryMax else { throw reader.error(t, "retry_min", "must not exceed retry_max") }
        o.caFile = try reader.string(u, "ca_file", t)
        o.certFile = try reader.string(u, "cert_file", t)
        o.keyFile = try reader.string(u, "key_file", t)
        if (o.certFile == nil) != (o.keyFile == nil) {
            throw reader.error(t, o.certFile == nil ? "key_file" : "cert_file", "cert_file and key_file go together")
        }
        o.tlsInsecure = try reader.bool(u, "tls_insecure", t) ?? false
        return o
    }
}
