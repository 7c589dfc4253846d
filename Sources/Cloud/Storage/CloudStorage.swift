public import AliceDB
public import Logging
public import ServiceLifecycle

/// A gateway as the node lists it.
public struct GatewaySummary: Sendable, Hashable {
    public var name: String
    public var series: Int
    public var points: Int
    /// Segment bytes stored for it.
    public var bytes: Int
    /// When it last uploaded (wall-clock milliseconds), if this store knows.
    public var lastUploadMillis: Int64?
}

/// One page of a scan: at most the limit asked for, plus every point sharing the last one's
/// timestamp; `next` is the `from` of the next page when more remain.
public struct ScanPage: Sendable {
    public var timestamps: [Int64] = []
    public var values: [Double] = []
    public var next: Int64? = nil
}

/// Where a cloud node keeps what gateways send, and the queries it answers from it: one engine
/// directory per gateway (`EmbeddedStorage`) or a PostgreSQL database that any number of nodes
/// share (`PostgresStorage`). Both answer every query alike.
///
/// Errors are `AliceDBError`s (`.notFound` for a gateway or series with no data, `.badInput` for a
/// refused batch, `.unavailable` when the store cannot be reached now) so that the node maps
/// them to HTTP statuses in one place.
///
/// A store is a `Service`: its `run()` keeps what it needs in the background (PostgreSQL: the
/// connection pool) until the group shuts down, then flushes and releases everything. Calls work
/// only while it runs; `prepare()` (the schema) comes first.
public protocol CloudStorage: Service {
    /// Makes the store ready for calls (PostgreSQL: connects and migrates the schema); needs `run()`
    /// going. A node calls it before it listens.
    func prepare() async throws
    /// Stores a gateway's batch: durable when this returns; a segment already stored is counted as
    /// a duplicate, a bad one refused with its reason while the others are stored.
    func ingest(_ batch: SegmentBatch, from gateway: String) async throws -> ImportReport
    /// Every gateway with data, by name, with its totals.
    func gateways() async throws -> [GatewaySummary]
    /// Every gateway with data, by name.
    func gatewayNames() async throws -> [String]
    /// Names of a gateway's series (empty when it has none).
    func seriesNames(_ gateway: String) async throws -> [String]
    /// Statistics of a gateway's series (one when `series` is given); nil when it has no data.
    func seriesStats(_ gateway: String, series: String?) async throws -> [SeriesStats]?
    func scan(_ gateway: String, _ series: String, from: Int64, to: Int64, limit: Int) async throws -> ScanPage
    func get(_ gateway: String, _ series: String, at: Int64) async throws -> Double?
    func aggregate(_ gateway: String, _ series: String, from: Int64, to: Int64) async throws -> AggregateResult
    func downsample(_ gateway: String, _ series: String, from: Int64, to: Int64, interval: Int64) async throws
        -> [Bucket]
    /// The data of `[from, to]` in time order: segments that lie inside it and that
    /// `summarize(first, last)` accepts as their exact summaries, the rest as points.
    func pieces(
        _ gateway: String, _ series: String, from: Int64, to: Int64, summarize: @Sendable (Int64, Int64) -> Bool
    )
        async throws -> [SeriesPiece]
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

    /// Every point of `[from, to]`, page by page.
    public func points(_ gateway: String, _ series: String, from: Int64, to: Int64, page: Int = 1_000_000)
        async throws -> (timestamps: [Int64], values: [Double])
    {
        var ts = [Int64]()
        var vs = [Double]()
        var next: Int64? = from
        while let f = next, f <= to {
            let p = try await scan(gateway, series, from: f, to: to, limit: page)
            ts += p.timestamps
            vs += p.values
            next = p.next
        }
        return (ts, vs)
    }
}

/// Collects a scan page from points arriving in time order.
struct ScanCollector {
    let limit: Int
    var page = ScanPage()
    private var last = Int64.min

    init(limit: Int) { self.limit = limit }

    /// Takes a point; false once the page is full (the point is then the next page's start).
    @inline(__always)
    mutating func take(_ t: Int64, _ v: Double) -> Bool {
        if page.next != nil { return false }
        if page.timestamps.count >= limit && t != last {
            page.next = t
            return false
        }
        page.timestamps.append(t)
        page.values.append(v)
        last = t
        return true
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
