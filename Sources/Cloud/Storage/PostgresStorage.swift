internal import AliceDB
public import Logging
internal import NIOCore
internal import NIOSSL
internal import PostgresNIO
internal import Synchronization

/// The shared store: every gateway's segments in one PostgreSQL database, as they arrived (the
/// compact binary, not expanded points), so any number of stateless nodes can ingest and answer
/// queries at once. Queries fetch only the segments that overlap the range asked for and evaluate
/// them here with the engine's own decoders.
///
/// Tables (see docs/cloud.md, "PostgreSQL"): `alicedb_schema` (the version), `alicedb_gateways`
/// (last upload), `alicedb_series` (one row per gateway and series with running totals) and
/// `alicedb_segments`. Both big tables are keyed by `series_key` = `gateway/series`, the
/// distribution key for a Citus-style distributed table.
public final class PostgresStorage: CloudStorage {
    public let settings: PostgresSettings
    let client: PostgresClient
    /// Finished when `run()` starts the pool.
    private let running: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)
    let logger: Logger
    /// While the database is unreachable, calls fail at once (503) instead of each waiting for
    /// `query_timeout`; one call a second tries again.
    private let outage = Mutex<(until: ContinuousClock.Instant, reason: String)?>(nil)
    static let retryAfterOutage = Duration.seconds(1)
    /// token → who it names (nil: nobody) and until when that answer holds.
    let tokenCache = Mutex<[String: (who: Principal?, expires: ContinuousClock.Instant)]>([:])

    /// The schema version this build writes; a database at a newer version is refused.
    public static let schemaVersion = migrations.count

    /// A store over the database `settings` names; nothing connects until `run()`.
    public init(_ settings: PostgresSettings, logger: Logger) {
        var config = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: settings.database, tls: Self.tls(settings.tls))
        config.options.maximumConnections = settings.poolSize
        config.options.minimumConnections = 0
        config.options.connectTimeout = .milliseconds(Int64(settings.connectTimeoutSeconds * 1000))
        config.options.keepAliveBehavior = .init(frequency: .seconds(30))
        self.settings = settings
        self.client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.logger = logger
        running = AsyncStream.makeStream()
    }

    /// Runs the connection pool until the group shuts down (or the task is cancelled), then
    /// closes its connections.
    public func run() async {
        running.continuation.finish()
        await client.run()
    }

    /// Connects, then creates or migrates the schema (under an advisory lock, so nodes starting
    /// together do it once).
    /// - Throws: `AliceDBError` (`.unavailable` when the database cannot be reached in time,
    ///   `.invalidArgument` when its schema is newer than this build).
    public func prepare() async throws {
        // Leasing before the pool runs works but logs a warning; wait for `run()` to begin.
        for await _ in running.stream {}
        try await migrate()
    }

    static func tls(_ mode: PostgresSettings.TLSMode) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    public var description: String { "postgres \(settings.redacted) pool_size=\(settings.poolSize)" }

    // MARK: Calls with a deadline and one error type

    /// Runs `body` against the database within `query_timeout`, retrying a deadlock or a
    /// serialization failure twice; errors become `AliceDBError`s.
    func run<T: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> T) async throws(AliceDBError)
        -> T
    {
        if let reason = currentOutage() { throw AliceDBError(.unavailable, reason) }
        var attempt = 0
        while true {
            attempt += 1
            do {
                let value = try await withDeadline(settings.queryTimeoutSeconds, what, body)
                noteReachable()
                return value
            } catch {
                let e = PostgresStorage.classify(error, what)
                if e.retry && attempt < 3 { continue }
                if e.error.code == .unavailable { noteOutage(e.error.message) }
                throw e.error
            }
        }
    }

    /// The reason calls fail now, during an outage; nil for the call that may try the database
    /// (none during an outage but one a second, the others failing fast while it tries).
    private func currentOutage() -> String? {
        let probing =
            Duration.milliseconds(Int64(settings.queryTimeoutSeconds * 1000)) + PostgresStorage.retryAfterOutage
        return outage.withLock { o in
            guard let current = o else { return nil }
            if ContinuousClock.now < current.until { return current.reason }
            o = (ContinuousClock.now + probing, current.reason)
            return nil
        }
    }

    private func noteReachable() {
        let wasDown = outage.withLock { o in
            defer { o = nil }
            return o != nil
        }
        if wasDown { logger.notice("PostgreSQL reachable again") }
    }

    private func noteOutage(_ reason: String) {
        let first = outage.withLock { o in
            let first = o == nil
            o = (ContinuousClock.now + PostgresStorage.retryAfterOutage, reason)
            return first
        }
        if first { logger.error("PostgreSQL unavailable", metadata: ["reason": "\(reason)"]) }
    }

    private func withDeadline<T: Sendable>(
        _ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                throw AliceDBError(.unavailable, "PostgreSQL did not answer \(what) within \(seconds) s")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// What an error from PostgresNIO means here: unreachable (503, retry later), a transaction to
    /// retry now, or a fault.
    static func classify(_ error: any Error, _ what: String) -> (error: AliceDBError, retry: Bool) {
        if let e = error as? AliceDBError { return (e, false) }
        if let t = error as? PostgresTransactionError {
            if let inner = t.closureError ?? t.commitError ?? t.beginError { return classify(inner, what) }
        }
        guard let p = error as? PSQLError else {
            if error is CancellationError { return (AliceDBError(.unavailable, "\(what): cancelled"), false) }
            return (AliceDBError(.unavailable, "PostgreSQL \(what): \(error)", cause: error), false)
        }
        guard let state = p.serverInfo?[.sqlState] else {
            // No answer from a server: refused, dropped, timed out, the pool closed.
            let cause = p.underlying.map { ": \($0)" } ?? ""
            return (
                AliceDBError(.unavailable, "PostgreSQL unreachable during \(what) (\(p.code)\(cause))", cause: p), false
            )
        }
        let message = p.serverInfo?[.message] ?? "\(p.code)"
        if state == "40P01" || state == "40001" { return (AliceDBError(.io, "\(what): \(message)", cause: p), true) }
        // 08: connection exceptions; 57P: shutting down or starting; 53: out of resources.
        if state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53") {
            return (AliceDBError(.unavailable, "PostgreSQL \(what): \(message) (\(state))", cause: p), false)
        }
        return (AliceDBError(.io, "PostgreSQL \(what): \(message) (SQLSTATE \(state))", cause: p), false)
    }

    public func problem() async -> String? {
        if let reason = currentOutage() { return reason }
        do {
            let client = self.client
            _ = try await withDeadline(min(2, settings.queryTimeoutSeconds), "the health check") {
                try await client.query("SELECT 1").collect()
            }
            noteReachable()
            return nil
        } catch {
            let e = PostgresStorage.classify(error, "the health check").error
            noteOutage(e.message)
            return e.message
        }
    }

    // MARK: Schema

    /// Migration k (1-based) takes the schema from version k − 1 to k; each runs once, in order.
    static let migrations: [[String]] = [
        // 1: gateways, series, segments.
        [
            """
            CREATE TABLE IF NOT EXISTS alicedb_gateways (
                gateway text PRIMARY KEY,
                last_upload_ms bigint NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS alicedb_series (
                series_key text PRIMARY KEY,
                gateway text NOT NULL,
                series text NOT NULL,
                abs_bound double precision NOT NULL,
                rel_bound double precision NOT NULL,
                segments bigint NOT NULL DEFAULT 0,
                points bigint NOT NULL DEFAULT 0,
                bytes bigint NOT NULL DEFAULT 0,
                first_ts bigint,
                last_ts bigint,
                max_span bigint NOT NULL DEFAULT 0)
            """,
            "CREATE INDEX IF NOT EXISTS alicedb_series_gateway ON alicedb_series (gateway, series)",
            """
            CREATE TABLE IF NOT EXISTS alicedb_segments (
                series_key text NOT NULL,
                first_ts bigint NOT NULL,
                last_ts bigint NOT NULL,
                digest bytea NOT NULL,
                seq bigserial NOT NULL,
                points integer NOT NULL,
                nan_count integer NOT NULL,
                min_value double precision NOT NULL,
                max_value double precision NOT NULL,
                sum_value double precision NOT NULL,
                max_error double precision NOT NULL,
                model smallint NOT NULL,
                received_ms bigint NOT NULL,
                body bytea NOT NULL,
                PRIMARY KEY (series_key, first_ts, digest))
            """,
        ],
        // 2: tokens every node accepts.
        [
            """
            CREATE TABLE IF NOT EXISTS alicedb_tokens (
                token_sha256 bytea PRIMARY KEY,
                name text NOT NULL,
                role text NOT NULL CHECK (role IN ('gateway', 'reader')),
                created_ms bigint NOT NULL)
            """
        ],
    ]

    func migrate() async throws(AliceDBError) {
        let (client, logger) = (self.client, self.logger)
        let found: Int = try await run("creating the schema") {
            try await client.withTransaction(logger: logger) { c in
                // One node at a time: the others wait here, then find the schema made.
                try await c.query("SELECT pg_advisory_xact_lock(73470001)", logger: logger)
                try await c.query(
                    "CREATE TABLE IF NOT EXISTS alicedb_schema (version integer NOT NULL)", logger: logger)
                var version = 0
                for try await v in try await c.query("SELECT max(version) FROM alicedb_schema", logger: logger).decode(
                    Int?.self)
                {
                    version = v ?? 0
                }
                guard version <= PostgresStorage.schemaVersion else { return version }
                for (i, statements) in PostgresStorage.migrations.enumerated() where i + 1 > version {
                    for statement in statements {
                        try await c.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await c.query("INSERT INTO alicedb_schema (version) VALUES (\(i + 1))", logger: logger)
                }
                return version
            }
        }
        guard found <= PostgresStorage.schemaVersion else {
            throw AliceDBError(
                .invalidArgument,
                "the database's schema is version \(found), newer than this alicedb-cloud (\(PostgresStorage.schemaVersion)): upgrade the node"
            )
        }
        if found < PostgresStorage.schemaVersion {
            logger.notice(
                found == 0 ? "PostgreSQL schema created" : "PostgreSQL schema migrated",
                metadata: [
                    "from": "\(found)", "to": "\(PostgresStorage.schemaVersion)", "database": "\(settings.redacted)",
                ])
        }
    }

    /// `gateway/series`: the key both big tables are found (and distributed) by. Gateway names
    /// hold no '/', so the split is unambiguous.
    static func key(_ gateway: String, _ series: String) -> String { gateway + "/" + series }
}
