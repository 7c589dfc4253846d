/// Where the PostgreSQL store is and how the node talks to it (`[storage] kind = "postgres"`).
public struct PostgresSettings: Sendable, Equatable {
    public enum TLSMode: String, Sendable { case disable, prefer, require }
    public var host = "127.0.0.1"
    public var port = 5432
    public var user = "postgres"
    public var password: String? = nil
    public var database = "alicedb"
    public var tls = TLSMode.prefer
    /// Connections this node keeps at most.
    public var poolSize = 8
    /// Longest a query (or waiting for a connection) may take before the request fails with 503.
    public var queryTimeoutSeconds = 10.0
    public var connectTimeoutSeconds = 5.0

    public init() {}

    /// Parses `postgres://user:password@host:port/database?sslmode=disable|prefer|require`
    /// (`postgresql://` too; percent-escapes in the user and password).
    /// - Returns: the settings, or why the URL cannot be used.
    public static func parse(url: String) -> Result<PostgresSettings, URLError> {
        var s = PostgresSettings()
        var rest = Substring(url)
        guard let scheme = ["postgres://", "postgresql://"].first(where: { rest.hasPrefix($0) }) else {
            return .failure(URLError("must start with postgres:// or postgresql://"))
        }
        rest = rest.dropFirst(scheme.count)
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2 else { return .failure(URLError("query part '\(pair)' is not key=value")) }
                switch kv[0] {
                case "sslmode":
                    guard let m = TLSMode(rawValue: kv[1]) else {
                        return .failure(URLError("sslmode must be disable, prefer or require, not '\(kv[1])'"))
                    }
                    s.tls = m
                default: return .failure(URLError("unknown URL parameter '\(kv[0])' (only sslmode)"))
                }
            }
            rest = rest[..<q]
        }
        if let slash = rest.firstIndex(of: "/") {
            let db = String(rest[rest.index(after: slash)...])
            if !db.isEmpty {
                guard let d = unescape(db) else { return .failure(URLError("database name has a bad %-escape")) }
                s.database = d
            }
            rest = rest[..<slash]
        }
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let parts = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let u = unescape(parts[0]), !u.isEmpty else {
                return .failure(URLError("user name is empty or has a bad %-escape"))
            }
            s.user = u
            if parts.count == 2 {
                guard let p = unescape(parts[1]) else { return .failure(URLError("password has a bad %-escape")) }
                s.password = p
            }
        }
        var host = rest
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return .failure(URLError("IPv6 address without ']'")) }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else {
                    return .failure(URLError("port must be 1–65535"))
                }
                s.port = p
            } else if !after.isEmpty {
                return .failure(URLError("unexpected '\(after)' after the address"))
            }
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else {
                return .failure(URLError("port must be 1–65535"))
            }
            s.port = p
            host = host[..<colon]
        }
        guard !host.isEmpty else { return .failure(URLError("no host")) }
        s.host = String(host)
        return .success(s)
    }

    public struct URLError: Error, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }

    static func unescape(_ s: String) -> String? {
        var out = [UInt8]()
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            guard c == UInt8(ascii: "%") else {
                out.append(c)
                continue
            }
            guard it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else {
                return nil
            }
            out.append(v)
            it = it.dropFirst(2)
        }
        return String(validating: out, as: UTF8.self)
    }

    /// The URL without the password, for logs and `--check`.
    public var redacted: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)?sslmode=\(tls.rawValue)"
    }
}
