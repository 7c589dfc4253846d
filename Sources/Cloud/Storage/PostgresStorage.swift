public import AliceDB
public import Logging

/// The shared store: every gateway's segments in one PostgreSQL database, as they arrived (the
/// compact binary, not expanded points), so any number of stateless nodes can ingest and answer
/// queries at once. Queries fetch only the segments that overlap the range asked for and evaluate
/// them here with the engine's own decoders.
///
/// Tables (see docs/cloud.md, "PostgreSQL"; `PostgresSchema`): `alicedb_schema` (the version),
/// `alicedb_gateways` (last upload), `alicedb_series` (one row per gateway and series with running
/// totals) and `alicedb_segments`. Both big tables are keyed by `series_key` = `gateway/series`, the
/// distribution key for a Citus-style distributed table.
///
/// Its parts share one connection pool (`PostgresPool`: deadlines, retries, outages): the tokens
/// (`PostgresTokens`), the batch transaction (`PostgresIngest`) and the segment reads
/// (`PostgresSegments`); this type answers the listings and the queries from them.
public final class PostgresStorage: CloudStorage {
    public let settings: PostgresSettings
    let pool: PostgresPool
    let tokens: PostgresTokens
    let writer: PostgresIngest
    let segments: PostgresSegments

    /// The schema version this build writes; a database at a newer version is refused.
    public static let schemaVersion = PostgresSchema.version

    /// A store over the database `settings` names; nothing connects until `run()`.
    public init(_ settings: PostgresSettings, logger: Logger) {
        self.settings = settings
        pool = PostgresPool(settings, logger: logger)
        tokens = PostgresTokens(pool: pool)
        writer = PostgresIngest(pool: pool)
        segments = PostgresSegments(pool: pool)
    }

    /// Runs the connection pool until the group shuts down (or the task is cancelled), then
    /// closes its connections.
    public func run() async { await pool.run() }

    /// Connects, then creates or migrates the schema (under an advisory lock, so nodes starting
    /// together do it once).
    /// - Throws: `AliceDBError` (`.unavailable` when the database cannot be reached in time,
    ///   `.invalidArgument` when its schema is newer than this build).
    public func prepare() async throws {
        await pool.started()
        try await PostgresSchema.migrate(pool)
    }

    public var description: String { "postgres \(settings.redacted) pool_size=\(settings.poolSize)" }

    public func problem() async -> String? { await pool.problem() }

    public func ingest(_ batch: SegmentBatch, from gateway: String) async throws -> ImportReport {
        try await writer.ingest(batch, from: gateway)
    }

    // MARK: Tokens

    public func principal(forToken token: String) async throws -> Principal? {
        try await tokens.principal(forToken: token)
    }

    public func addToken(_ token: String, for who: Principal) async throws {
        try await tokens.addToken(token, for: who)
    }

    public func removeTokens(of who: Principal) async throws -> Int { try await tokens.removeTokens(of: who) }

    public func listTokens() async throws -> [(who: Principal, createdMillis: Int64)] { try await tokens.listTokens() }
}
