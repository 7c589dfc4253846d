internal import AliceDB
internal import Crypto
internal import NIOCore
internal import PostgresNIO
internal import Synchronization

/// Tokens kept in the database (`alicedb_tokens`, SHA-256 only), so every node sharing it accepts
/// the same gateways and readers without each node's configuration listing them. A lookup is
/// cached for `cacheSeconds`: a token removed stops working on every node within that time.
final class PostgresTokens: Sendable {
    static let cacheSeconds = 5.0
    static let cacheLimit = 10_000

    let pool: PostgresPool
    /// token → who it names (nil: nobody) and until when that answer holds.
    private let cache = Mutex<[String: (who: Principal?, expires: ContinuousClock.Instant)]>([:])

    init(pool: PostgresPool) { self.pool = pool }

    static func digest(_ token: String) -> ByteBuffer { ByteBuffer(bytes: Array(SHA256.hash(data: Array(token.utf8)))) }

    /// Who `token` names, or nil (cached both ways).
    func principal(forToken token: String) async throws -> Principal? {
        let now = ContinuousClock.now
        if let hit = cache.withLock({ $0[token] }), now < hit.expires { return hit.who }
        let client = pool.client
        let digest = PostgresTokens.digest(token)
        let who: Principal? = try await pool.run("checking a token") {
            let rows = try await client.query("SELECT name, role FROM alicedb_tokens WHERE token_sha256 = \(digest)")
            for try await (name, role) in rows.decode((String, String).self) {
                return Principal(name: name, role: role == "reader" ? .reader : .gateway)
            }
            return nil
        }
        cache.withLock { cache in
            // Unknown tokens are cached too (a flood of them costs one query each per period), but
            // never more than the limit.
            if cache.count >= PostgresTokens.cacheLimit { cache.removeAll() }
            cache[token] = (who, now + .milliseconds(Int64(PostgresTokens.cacheSeconds * 1000)))
        }
        return who
    }

    func addToken(_ token: String, for who: Principal) async throws {
        let client = pool.client
        let digest = PostgresTokens.digest(token)
        let role = who.role == .reader ? "reader" : "gateway"
        let now = FileIO.wallMillis()
        let added: Bool = try await pool.run("adding a token") {
            let rows = try await client.query(
                """
                INSERT INTO alicedb_tokens (token_sha256, name, role, created_ms) VALUES (\(digest), \(who.name), \(role), \(now))
                ON CONFLICT DO NOTHING RETURNING 1
                """)
            for try await _ in rows.decode(Int32.self) { return true }
            return false
        }
        guard added else { throw AliceDBError(.invalidArgument, "that token is already stored") }
    }

    func removeTokens(of who: Principal) async throws -> Int {
        let client = pool.client
        let role = who.role == .reader ? "reader" : "gateway"
        let n: Int = try await pool.run("removing tokens") {
            var n = 0
            for try await _ in try await client.query(
                "DELETE FROM alicedb_tokens WHERE name = \(who.name) AND role = \(role) RETURNING 1"
            ).decode(Int32.self) {
                n += 1
            }
            return n
        }
        cache.withLock { $0.removeAll() }
        return n
    }

    func listTokens() async throws -> [(who: Principal, createdMillis: Int64)] {
        let client = pool.client
        return try await pool.run("listing tokens") {
            var out = [(who: Principal, createdMillis: Int64)]()
            let rows = try await client.query(
                "SELECT name, role, created_ms FROM alicedb_tokens ORDER BY role, name, created_ms")
            for try await (name, role, created) in rows.decode((String, String, Int64).self) {
                out.append((Principal(name: name, role: role == "reader" ? .reader : .gateway), created))
            }
            return out
        }
    }
}
