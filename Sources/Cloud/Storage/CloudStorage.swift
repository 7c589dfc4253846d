public import AliceDB
public import Logging
public import ReadAPI
public import ServiceLifecycle

/// Where a cloud node keeps what gateways send, and the queries it answers from it: one engine
/// directory per gateway (`EmbeddedStorage`) or a PostgreSQL database that any number of nodes
/// share (`PostgresStorage`). Both answer every query alike.
///
/// Its queries are those of `ReadStore` (module ReadAPI: the read API answers them on a node and on
/// an agent alike). Errors are `AliceDBError`s (`.notFound` for a gateway or series with no data, `.badInput` for a
/// refused batch, `.unavailable` when the store cannot be reached now) so that the node maps
/// them to HTTP statuses in one place.
///
/// A store is a `Service`: its `run()` keeps what it needs in the background (PostgreSQL: the
/// connection pool) until the group shuts down, then flushes and releases everything. Calls work
/// only while it runs; `prepare()` (the schema) comes first.
public protocol CloudStorage: Service, ReadStore {
    /// Makes the store ready for calls (PostgreSQL: connects and migrates the schema); needs `run()`
    /// going. A node calls it before it listens.
    func prepare() async throws
    /// Stores a gateway's batch: durable when this returns; a segment already stored is counted as
    /// a duplicate, a bad one refused with its reason while the others are stored.
    func ingest(_ batch: SegmentBatch, from gateway: String) async throws -> ImportReport
    /// Who `token` names among the tokens kept in the store itself (accepted by every node that
    /// shares it), or nil.
    func principal(forToken token: String) async throws -> Principal?
    /// Keeps a token in the store (`alicedb-cloud tokens add`).
    func addToken(_ token: String, for who: Principal) async throws
    /// Removes every stored token of `who`; how many there were.
    func removeTokens(of who: Principal) async throws -> Int
    /// The stored tokens' owners (never the tokens) and when each was added (wall ms).
    func listTokens() async throws -> [(who: Principal, createdMillis: Int64)]
    /// Nil when the store works; otherwise why not (for /healthz).
    func problem() async -> String?
    /// One line for `--check` and the log.
    var description: String { get }
}

extension CloudStorage {
    /// Runs the store for the length of `body` (prepared first), then shuts it down: for a command
    /// that uses a store once (`alicedb-cloud tokens`), or a test.
    public func withRunning<R: Sendable>(_ body: () async throws -> R) async throws -> R {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            defer { group.cancelAll() }
            try await prepare()
            return try await body()
        }
    }
}

extension CloudConfig {
    /// The store the configuration names, not yet running (`CloudStorage`).
    /// - Throws: `AliceDBError` saying why the store cannot be used.
    public func makeStorage(logger: Logger) throws -> any CloudStorage {
        if let pg = postgres { return PostgresStorage(pg, logger: logger) }
        return try EmbeddedStorage(path: storagePath, logger: logger, recompressAfter: recompressAfter)
    }
}
