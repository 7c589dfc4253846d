internal import AliceDB
internal import ReadAPI
public import TOMLConfig

/// Who may call the cloud node: a gateway (uploads and queries its own data) or a reader
/// (queries every gateway, uploads nothing).
public struct Principal: Sendable, Hashable {
    public enum Role: Sendable, Hashable { case gateway, reader }
    public var name: String
    public var role: Role

    public init(name: String, role: Role) {
        self.name = name
        self.role = role
    }
}

/// The cloud node's resolved settings.
public struct CloudConfig: Sendable {
    public var host = "127.0.0.1"
    public var port = 8470
    /// Largest request body accepted (a segment batch), bytes.
    public var maxBody = 16 << 20
    /// Requests per second per token, and the burst allowed on top.
    public var rateLimit = 50.0
    public var rateBurst = 100.0
    /// A connection on which nothing is read or written for this long is closed.
    public var idleTimeoutSeconds = 30.0
    /// Points a scan answers at most per request (more: the answer says where to go on).
    public var maxScanPoints = 1_000_000
    public var storagePath = "/var/lib/alicedb-cloud"
    /// Embedded storage: seconds after which fast-profile segments are re-encoded into the compact
    /// profile (nil: never).
    public var recompressAfter: Double? = nil
    /// With `[storage] kind = "postgres"`: the shared database (then `storagePath` is unused).
    public var postgres: PostgresSettings? = nil
    /// HTTPS: the server's certificate chain and key (PEM); with `tlsClientCA`, gateways must
    /// present a client certificate signed by that CA as well as their token.
    public var tlsCert: String? = nil
    public var tlsKey: String? = nil
    public var tlsClientCA: String? = nil
    /// token → who it is.
    public var tokens: [String: Principal] = [:]
    public var source = "(embedded default)"
    /// Format features this node treats as unreadable although it reads them (from the environment
    /// variable `ALICEDB_CLOUD_REFUSE_FEATURES`, comma-separated): to rehearse how a fleet behaves
    /// against an older node.
    public var refusedFeatures: Set<String> = []

    public init() {}

    /// A configuration for trying the node out: loopback, data in ./alicedb-cloud-data, one
    /// gateway `gateway-1` with token `dev-token` and a reader `grafana` with `dev-reader`.
    public static let defaultText = """
        [server]
        listen = "127.0.0.1:8470"

        [storage]
        path = "./alicedb-cloud-data"

        [[gateway]]
        name = "gateway-1"
        token = "dev-token"

        [[reader]]
        name = "grafana"
        token = "dev-reader"
        """

    public static func load(path: String) throws(ConfigError) -> CloudConfig {
        try parse(ConfigReader.read(path: path), file: path)
    }

    /// Gateway names become directory names: letters, digits, `.`, `_`, `-`, at most 64.
    public static func validGatewayName(_ name: String) -> Bool { ReadScope.validGatewayName(name) }

    public static func parse(_ text: String, file: String) throws(ConfigError) -> CloudConfig {
        let (root, reader) = try ConfigReader.parse(text, file: file)
        var c = CloudConfig()
        c.source = file
        try reader.allow(root, table: "", keys: ["server", "storage", "gateway", "reader"])
        if let s = try reader.table(root, "server", in: "") {
            let t = "server"
            try reader.allow(
                s, table: t,
                keys: [
                    "listen", "max_body", "rate_limit", "rate_burst", "idle_timeout", "max_scan_points",
                    "tls_cert_file", "tls_key_file",
                    "tls_client_ca_file",
                ])
            c.tlsCert = try reader.string(s, "tls_cert_file", t)
            c.tlsKey = try reader.string(s, "tls_key_file", t)
            c.tlsClientCA = try reader.string(s, "tls_client_ca_file", t)
            if (c.tlsCert == nil) != (c.tlsKey == nil) {
                throw reader.error(
                    t, c.tlsCert == nil ? "tls_key_file" : "tls_cert_file", "tls_cert_file and tls_key_file go together"
                )
            }
            if c.tlsClientCA != nil && c.tlsCert == nil {
                throw reader.error(t, "tls_client_ca_file", "needs tls_cert_file and tls_key_file")
            }
            if let a = try reader.address(s, "listen", t) {
                guard let a else { throw reader.error(t, "listen", "the cloud node needs an address to listen on") }
                (c.host, c.port) = a
            }
            c.maxBody = try reader.size(s, "max_body", t) ?? c.maxBody
            c.rateLimit = try reader.double(s, "rate_limit", t) ?? c.rateLimit
            guard c.rateLimit > 0 else { throw reader.error(t, "rate_limit", "must be > 0 requests per second") }
            c.rateBurst = try reader.double(s, "rate_burst", t) ?? max(c.rateBurst, c.rateLimit)
            guard c.rateBurst >= 1 else { throw reader.error(t, "rate_burst", "must be ≥ 1") }
            c.idleTimeoutSeconds = try reader.double(s, "idle_timeout", t) ?? c.idleTimeoutSeconds
            guard c.idleTimeoutSeconds > 0 else { throw reader.error(t, "idle_timeout", "must be > 0 seconds") }
            c.maxScanPoints = try reader.int(s, "max_scan_points", t, 1...100_000_000) ?? c.maxScanPoints
        }
        if let s = try reader.table(root, "storage", in: "") {
            let t = "storage"
            try reader.allow(
                s, table: t,
                keys: [
                    "path", "kind", "url", "password_file", "pool_size", "query_timeout", "connect_timeout",
                    "recompress_after",
                ])
            switch try reader.string(s, "kind", t) ?? "embedded" {
            case "embedded":
                for key in ["url", "password_file", "pool_size", "query_timeout", "connect_timeout"]
                where reader.has(s, key) {
                    throw reader.error(t, key, "is a setting of kind = \"postgres\"")
                }
                c.storagePath = try reader.string(s, "path", t) ?? c.storagePath
                c.recompressAfter = try reader.duration(s, "recompress_after", t)
            case "postgres":
                for key in ["path", "recompress_after"] where reader.has(s, key) {
                    throw reader.error(
                        t, key, "is a setting of kind = \"embedded\" (postgres keeps everything in the database)")
                }
                guard let url = try reader.string(s, "url", t) else {
                    throw reader.error(
                        t, "url", "is required with kind = \"postgres\" (postgres://user@host:5432/database)")
                }
                var pg: PostgresSettings
                switch PostgresSettings.parse(url: url) {
                case .success(let p): pg = p
                case .failure(let e): throw reader.error(t, "url", e.description)
                }
                if let password = try reader.secret(s, "password", t) {
                    guard pg.password == nil else {
                        throw reader.error(t, "password_file", "the url already has a password")
                    }
                    pg.password = password
                }
                pg.poolSize = try reader.int(s, "pool_size", t, 1...1000) ?? pg.poolSize
                pg.queryTimeoutSeconds = try reader.double(s, "query_timeout", t) ?? pg.queryTimeoutSeconds
                guard pg.queryTimeoutSeconds > 0 else { throw reader.error(t, "query_timeout", "must be > 0 seconds") }
                pg.connectTimeoutSeconds = try reader.double(s, "connect_timeout", t) ?? pg.connectTimeoutSeconds
                guard pg.connectTimeoutSeconds > 0 else {
                    throw reader.error(t, "connect_timeout", "must be > 0 seconds")
                }
                c.postgres = pg
            case let kind:
                throw reader.error(
                    t, "kind",
                    "must be \"embedded\" (one engine directory per gateway) or \"postgres\" (a database several nodes share), not \"\(kind)\""
                )
            }
        }
        for (key, role) in [("gateway", Principal.Role.gateway), ("reader", .reader)] {
            guard let entries = try reader.tables(root, key) else { continue }
            var names = Set<String>()
            for (i, e) in entries.enumerated() {
                let t = "\(key)[\(i)]"
                try reader.allow(e, table: t, keys: ["name", "token", "token_file"])
                guard let name = try reader.string(e, "name", t) else { throw reader.error(t, "name", "is required") }
                if role == .gateway && !validGatewayName(name) {
                    throw reader.error(
                        t, "name", "must be 1–64 letters, digits, '.', '_' or '-' (it names a directory)")
                }
                guard names.insert(name).inserted else { throw reader.error(t, "name", "\"\(name)\" is listed twice") }
                let tokenKey = reader.has(e, "token_file") ? "token_file" : "token"
                guard let token = try reader.secret(e, "token", t), token.utf8.count >= 8 else {
                    throw reader.error(t, tokenKey, "is required (token or token_file), at least 8 characters")
                }
                guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                    throw reader.error(
                        t, tokenKey, "must be printable ASCII without spaces (it travels in a header)")
                }
                guard c.tokens[token] == nil else {
                    throw reader.error(t, tokenKey, "is already the token of another entry")
                }
                c.tokens[token] = Principal(name: name, role: role)
            }
        }
        if c.postgres == nil && !c.tokens.values.contains(where: { $0.role == .gateway }) {
            throw ConfigError(file: file, message: "no [[gateway]] entries: no gateway could upload")
        }
        return c
    }

    /// The resolved settings, for `--check` (tokens are not printed).
    public var summary: String {
        var s = "config: \(source)\nlisten: \(tlsCert == nil ? "http" : "https")://\(host):\(port)"
        s += tlsClientCA.map { " client certificates from \($0)" } ?? ""
        s += " max_body=\(maxBody) rate_limit=\(rateLimit)/s burst=\(rateBurst)"
        s +=
            " idle_timeout=\(idleTimeoutSeconds)s max_scan_points=\(maxScanPoints)\nstorage: \(postgres.map { "postgres \($0.redacted) pool_size=\($0.poolSize) query_timeout=\($0.queryTimeoutSeconds)s" } ?? "embedded path=\(storagePath)\(recompressAfter.map { " recompress_after=\(Int($0))s" } ?? "")")"
        for p in tokens.values.sorted(by: {
            ($0.role == .gateway ? 0 : 1, $0.name) < ($1.role == .gateway ? 0 : 1, $1.name)
        }) {
            s += "\n\(p.role == .gateway ? "gateway" : "reader"): \(p.name)"
        }
        return s
    }
}
