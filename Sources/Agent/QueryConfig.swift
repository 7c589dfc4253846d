internal import ReadAPI
internal import TOMLConfig

#if canImport(Glibc)
    internal import Glibc
#endif

/// `[http] query = true`: the agent's loopback listener also answers the cloud node's read API
/// (`/v1/scan`, …, `/api/v1/*` for Grafana) from the agent's own engine, to a reader token.
public struct QueryOptions: Sendable, Equatable {
    /// What a client sends as `Authorization: Bearer …` (`reader_token` or `reader_token_file`).
    public var readerToken: String
    /// The gateway this agent is (the `gateway` label and parameter): the name the cloud node knows
    /// it by, so that one Grafana data source config works against both. Default: the host name.
    public var gateway: String
    /// At most this many points a scan page, and buckets a downsample; smaller than the cloud
    /// node's default (1 000 000) so that an answer stays small beside the agent's memory budget.
    public var maxScanPoints = 25_000

    public init(readerToken: String, gateway: String) {
        self.readerToken = readerToken
        self.gateway = gateway
    }

    /// This machine's host name (the first label), or nil when it has none or it is not a valid
    /// gateway name.
    static func hostName() -> String? {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return nil }
        let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let short = String(name.split(separator: ".").first ?? "")
        return ReadScope.validGatewayName(short) ? short : nil
    }
}

extension AgentConfig {
    static let httpKeys: Set<String> = [
        "listen", "query", "reader_token", "reader_token_file", "gateway", "max_scan_points",
    ]

    /// `[http]`: the listener's address and, with `query = true`, the read API's settings.
    static func parseHTTP(_ h: ConfigTable, _ reader: ConfigReader, into c: inout AgentConfig) throws(ConfigError) {
        let t = "http"
        try reader.allow(h, table: t, keys: httpKeys)
        if let listen = try reader.address(h, "listen", t) { c.http = listen }
        // Without query = true the other keys wait unused (turning the API off is one line).
        guard try reader.bool(h, "query", t) == true else { return }
        guard c.http != nil else { throw reader.error(t, "query", "needs the listener, but listen is \"\" (off)") }
        let tokenKey = reader.has(h, "reader_token_file") ? "reader_token_file" : "reader_token"
        guard let token = try reader.secret(h, "reader_token", t) else {
            throw reader.error(
                t, "query",
                "needs reader_token or reader_token_file: the token a client sends as Authorization: Bearer TOKEN")
        }
        guard token.utf8.count >= 8 else { throw reader.error(t, tokenKey, "must be at least 8 characters") }
        guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw reader.error(t, tokenKey, "must be printable ASCII without spaces (it travels in a header)")
        }
        let gateway: String
        if let g = try reader.string(h, "gateway", t) {
            guard ReadScope.validGatewayName(g) else {
                throw reader.error(t, "gateway", "must be 1–64 letters, digits, '.', '_' or '-', as on the cloud node")
            }
            gateway = g
        } else {
            guard let host = QueryOptions.hostName() else {
                throw reader.error(
                    t, "query",
                    "the host name is not a valid gateway name: set gateway = \"…\" (its name on the cloud node)")
            }
            gateway = host
        }
        var q = QueryOptions(readerToken: token, gateway: gateway)
        q.maxScanPoints = try reader.int(h, "max_scan_points", t, 1...10_000_000) ?? q.maxScanPoints
        c.query = q
    }
}
