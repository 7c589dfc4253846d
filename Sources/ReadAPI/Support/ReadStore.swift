public import AliceDB

/// A gateway as a node lists it.
public struct GatewaySummary: Sendable, Hashable {
    public var name: String
    public var series: Int
    public var points: Int
    /// Segment bytes stored for it.
    public var bytes: Int
    /// When it last uploaded (wall-clock milliseconds), if this store knows.
    public var lastUploadMillis: Int64?

    public init(name: String, series: Int, points: Int, bytes: Int, lastUploadMillis: Int64? = nil) {
        self.name = name
        self.series = series
        self.points = points
        self.bytes = bytes
        self.lastUploadMillis = lastUploadMillis
    }
}

/// One page of a scan: at most the limit asked for, plus every point sharing the last one's
/// timestamp; `next` is the `from` of the next page when more remain.
public struct ScanPage: Sendable {
    public var timestamps: [Int64] = []
    public var values: [Double] = []
    public var next: Int64? = nil

    public init() {}
}

/// What the read API reads: gateways, their series and the series' data. A cloud node's store
/// (`CloudStorage`: every gateway that uploads) and an agent's engine (`DatabaseReadStore`: the one
/// gateway it is) answer it alike, so that the same code answers the same queries on both.
///
/// Errors are `AliceDBError`s (`.notFound` for a gateway or series with no data, `.unavailable`
/// when the store cannot be reached now), mapped to HTTP statuses in one place (`QueryError.http`).
public protocol ReadStore: Sendable {
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
}

extension ReadStore {
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
public struct ScanCollector {
    @usableFromInline let limit: Int
    public var page = ScanPage()
    @usableFromInline var last = Int64.min

    public init(limit: Int) { self.limit = limit }

    /// Takes a point; false once the page is full (the point is then the next page's start).
    @inlinable
    public mutating func take(_ t: Int64, _ v: Double) -> Bool {
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

/// One engine database as the store of one gateway: what an agent answers from (its own
/// engine, MemTables included). Another gateway's name has no data.
public struct DatabaseReadStore: EngineReadStore {
    /// The gateway's name (the `gateway` label and parameter).
    public let name: String
    public let db: Database

    public init(name: String, db: Database) {
        self.name = name
        self.db = db
    }

    /// The database when `gateway` is this one.
    /// - Throws: `.notFound` for any other name.
    public func database(_ gateway: String) throws -> Database {
        guard gateway == name else { throw AliceDBError(.notFound, "no data from gateway '\(gateway.prefix(64))'") }
        return db
    }

    public func gateways() async throws -> [GatewaySummary] {
        let s = try db.stats()
        return [GatewaySummary(name: name, series: s.series.count, points: s.points, bytes: s.bytes)]
    }

    public func gatewayNames() async throws -> [String] { [name] }

    public func seriesNames(_ gateway: String) async throws -> [String] {
        gateway == name ? db.listSeries().map(\.name) : []
    }

    public func seriesStats(_ gateway: String, series: String?) async throws -> [SeriesStats]? {
        gateway == name ? try db.stats(series: series).series : nil
    }
}

/// A store whose gateways are engine databases (an agent's own, a node's embedded ones): the point
/// queries are the engine's, once for both.
public protocol EngineReadStore: ReadStore {
    /// The database of `gateway`.
    /// - Throws: `.notFound` when there is none.
    func database(_ gateway: String) throws -> Database
}

extension EngineReadStore {
    public func scan(_ gateway: String, _ series: String, from: Int64, to: Int64, limit: Int) async throws -> ScanPage {
        var c = ScanCollector(limit: limit)
        try database(gateway).scanWhile(series, from: from, to: to) { t, v in c.take(t, v) }
        return c.page
    }

    public func get(_ gateway: String, _ series: String, at: Int64) async throws -> Double? {
        try database(gateway).get(series, at: at)
    }

    public func aggregate(_ gateway: String, _ series: String, from: Int64, to: Int64) async throws -> AggregateResult {
        try database(gateway).aggregate(series, from: from, to: to)
    }

    public func downsample(_ gateway: String, _ series: String, from: Int64, to: Int64, interval: Int64) async throws
        -> [Bucket]
    {
        try database(gateway).downsample(series, from: from, to: to, interval: interval)
    }

    public func pieces(
        _ gateway: String, _ series: String, from: Int64, to: Int64, summarize: @Sendable (Int64, Int64) -> Bool
    )
        async throws -> [SeriesPiece]
    {
        try database(gateway).pieces(series, from: from, to: to, summarize: summarize)
    }
}
