internal import AliceDB
internal import Logging
internal import PostgresNIO

/// The tables of the PostgreSQL store (see docs/cloud.md, "PostgreSQL") and the migrations that
/// make them: `alicedb_schema` holds the version, and each node migrates under an advisory lock
/// when it starts, so nodes starting together do it once.
enum PostgresSchema {
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

    /// The schema version this build writes; a database at a newer version is refused.
    static let version = migrations.count

    /// Creates or migrates the schema.
    /// - Throws: `AliceDBError` (`.invalidArgument` when the database's schema is newer than this build).
    static func migrate(_ pool: PostgresPool) async throws(AliceDBError) {
        let (client, logger, settings) = (pool.client, pool.logger, pool.settings)
        let found: Int = try await pool.run("creating the schema") {
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
                guard version <= PostgresSchema.version else { return version }
                for (i, statements) in PostgresSchema.migrations.enumerated() where i + 1 > version {
                    for statement in statements {
                        try await c.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await c.query("INSERT INTO alicedb_schema (version) VALUES (\(i + 1))", logger: logger)
                }
                return version
            }
        }
        guard found <= PostgresSchema.version else {
            throw AliceDBError(
                .invalidArgument,
                "the database's schema is version \(found), newer than this alicedb-cloud (\(PostgresSchema.version)): upgrade the node"
            )
        }
        if found < PostgresSchema.version {
            logger.notice(
                found == 0 ? "PostgreSQL schema created" : "PostgreSQL schema migrated",
                metadata: [
                    "from": "\(found)", "to": "\(PostgresSchema.version)", "database": "\(settings.redacted)",
                ])
        }
    }

    /// `gateway/series`: the key both big tables are found (and distributed) by. Gateway names
    /// hold no '/', so the split is unambiguous.
    static func key(_ gateway: String, _ series: String) -> String { gateway + "/" + series }
}
