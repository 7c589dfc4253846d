internal import AliceFormat
internal import Dispatch
internal import Logging
internal import Synchronization

/// A time-series database in one directory: verified model segments, a WAL, a catalog.
///
/// One process may open a directory for writing (a lock file enforces it); any number may open
/// it read-only meanwhile and see everything the writer has put into its WAL, flushed or not.
/// All methods are thread-safe; writes are serialised.
public final class Database: Sendable {
    let engine: Mutex<Engine>
    private let timer: MaintenanceTimer?
    /// The recompression job between its steps, and when the next step is due.
    let recompression = Mutex(RecompressionPace())
    public let path: String
    public let options: DatabaseOptions

    /// Opens (or creates) the database at `path`, replaying its WAL.
    /// - Throws: `AliceDBError` with code `.locked` if another process writes it, `.corrupt` if
    ///   the catalog is unreadable, `.io` on system errors. Torn WAL or segment tails are
    ///   truncated with a warning, never a failed open.
    public init(path: String, options: DatabaseOptions = DatabaseOptions()) throws {
        self.path = path
        self.options = options
        engine = Mutex(try Engine(path: path, options: options))
        if options.readOnly || !options.maintenanceTimer {
            timer = nil
            return
        }
        let periodMs = options.maintenanceMillis
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "alicedb.maintenance"))
        t.schedule(
            deadline: .now() + .milliseconds(periodMs), repeating: .milliseconds(periodMs),
            leeway: .milliseconds(periodMs / 4 + 1))
        timer = MaintenanceTimer(source: t)
        t.setEventHandler { [weak self] in self?.maintenance() }
        t.resume()
    }

    /// Dropped without `close()`: nothing is flushed here; buffered points stay in the WAL and the
    /// next open replays them.
    deinit {
        timer?.source.cancel()
        engine.withLock { $0.release() }
    }

    /// Periodic work: the WAL's group commit, age-based flushes, and each minute retention and
    /// compaction. The database's own timer calls it unless `DatabaseOptions.maintenanceTimer` is off.
    public func maintain() throws {
        try maintainWrites()
        try rewriteIfDue()
    }

    /// `maintain`'s first half: the WAL's group commit, age-based flushes, retention and compaction
    /// — what acknowledged points wait for. An owner that runs `rewriteIfDue` on a thread of its own
    /// calls this on its schedule, so that a long rewrite step never delays a group commit.
    public func maintainWrites() throws {
        try locked { e throws(AliceDBError) in try e.maintenance() }
    }

    /// `maintain`'s second half: one paced step of re-encoding old fast segments
    /// (`recompressAfterMilliseconds`) and merging short ones (`mergeSegments`), outside the lock.
    /// A step re-encodes for ~50 ms, but a run's merge is one unit (up to the capacity's points).
    public func rewriteIfDue() throws {
        try recompressIfDue()
    }

    private func maintenance() {
        engine.withLock { e in
            do { try e.maintenance() } catch {
                e.logger.error("background maintenance failed", metadata: ["error": "\(error)"])
            }
        }
        do { try recompressIfDue() } catch {
            options.logger.error("background recompression failed", metadata: ["error": "\(error)"])
        }
    }

    private func locked<R: Sendable>(_ body: (Engine) throws(AliceDBError) -> R) throws(AliceDBError) -> R {
        try engine.withLock { (e: inout Engine) throws(AliceDBError) -> R in try body(e) }
    }

    // MARK: Series

    /// Creates a series or changes its options (buffered points are flushed under the old ones).
    @discardableResult
    public func createSeries(_ name: String, options: SeriesOptions = SeriesOptions()) throws -> SeriesInfo {
        try locked { e throws(AliceDBError) in try e.setOptions([(name, options)])[0] }
    }

    /// Creates or changes several series at once: one catalog write (and sync) for all of them.
    @discardableResult
    public func createSeries(_ list: [(name: String, options: SeriesOptions)]) throws -> [SeriesInfo] {
        try locked { e throws(AliceDBError) in try e.setOptions(list) }
    }

    /// Every series in the catalog, by id.
    public func listSeries() -> [SeriesInfo] {
        engine.withLock { e in e.catalog.byID.values.sorted { $0.id < $1.id } }
    }

    public func series(named name: String) -> SeriesInfo? {
        engine.withLock { e in e.catalog.byName[name] }
    }

    // MARK: Writes

    /// Writes one point; the series is created (lossless) if it does not exist.
    /// - Complexity: amortised O(1); a flush fits and writes the series' buffer.
    public func put(_ series: String, _ timestamp: Int64, _ value: Double) throws {
        var t = timestamp
        var v = value
        try withUnsafePointer(to: &t) { tp in
            try withUnsafePointer(to: &v) { vp in
                try putBatch(series, UnsafeBufferPointer(start: tp, count: 1), UnsafeBufferPointer(start: vp, count: 1))
            }
        }
    }

    /// Writes many points of one series with one WAL record (no per-point allocation).
    public func putBatch(_ series: String, timestamps: [Int64], values: [Double]) throws {
        try timestamps.withUnsafeBufferPointer { t in
            try values.withUnsafeBufferPointer { v in try putBatch(series, t, v) }
        }
    }

    public func putBatch(
        _ series: String, _ timestamps: UnsafeBufferPointer<Int64>, _ values: UnsafeBufferPointer<Double>
    ) throws {
        try locked { e throws(AliceDBError) in
            let id = try e.seriesID(series, create: true)
            try e.put(series: id, timestamps, values)
        }
    }

    /// Stores several series' points at once, each series with the options it must have: a series
    /// missing from the catalog is created with them, one whose options differ is changed (its
    /// buffered points are flushed under the old ones first), all in one catalog write.
    /// - Returns: per batch, nil where its points were stored, else why not (a bad name, a catalog
    ///   that could not be written: then the series is not created either).
    /// - Throws: `AliceDBError` when the database cannot take writes at all (closed, read-only).
    public func putBatches(_ batches: [SeriesBatch]) throws -> [AliceDBError?] {
        try locked { e throws(AliceDBError) in try e.putBatches(batches) }
    }

    // MARK: Queries

    /// The value written at exactly `timestamp`, or nil if there is no sample there (no interpolation).
    /// - Complexity: O(log segments) plus one segment decode (cached).
    public func get(_ series: String, at timestamp: Int64) throws -> Double? {
        try locked { e throws(AliceDBError) in try e.reader(series).get(at: timestamp) }
    }

    /// Points in `[from, to]`, in time order.
    public func scan(_ series: String, from: Int64 = .min, to: Int64 = .max) throws -> [DataPoint] {
        var out = [DataPoint]()
        try scan(series, from: from, to: to) { out.append(DataPoint($0, $1)) }
        return out
    }

    /// Streams the points in `[from, to]` to `body`, in time order.
    public func scan(_ series: String, from: Int64 = .min, to: Int64 = .max, _ body: (Int64, Double) -> Void) throws {
        try locked { e throws(AliceDBError) in
            try e.reader(series).scan(from: from, to: to) { t, v in
                body(t, v)
                return true
            }
        }
    }

    /// Streams the points in `[from, to]` to `body`, in time order, while it returns true: a page
    /// of a long range decodes only the segments it takes points from.
    public func scanWhile(
        _ series: String, from: Int64 = .min, to: Int64 = .max, _ body: (Int64, Double) -> Bool
    ) throws {
        try locked { e throws(AliceDBError) in try e.reader(series).scan(from: from, to: to, body) }
    }

    /// Count, sum, min, max and avg over `[from, to]`; whole segments answer from their exact summaries.
    /// - Complexity: O(segments) plus decoding the (at most two) partial segments.
    public func aggregate(_ series: String, from: Int64 = .min, to: Int64 = .max) throws -> AggregateResult {
        try locked { e throws(AliceDBError) in
            try e.reader(series).aggregate(from: from, to: to)
        }
    }

    /// One aggregate per `interval`-wide bucket starting at `from`; empty buckets are omitted.
    public func downsample(_ series: String, from: Int64, to: Int64, interval: Int64) throws -> [Bucket] {
        try locked { e throws(AliceDBError) in
            try e.reader(series).downsample(from: from, to: to, interval: interval)
        }
    }

    /// The data of `[from, to]` in time order: whole segments that `summarize(first, last)` accepts
    /// as their exact summaries, the rest as points.
    /// - Complexity: O(segments) plus decoding the segments that come as points.
    public func pieces(_ series: String, from: Int64, to: Int64, summarize: (Int64, Int64) -> Bool) throws
        -> [SeriesPiece]
    {
        try locked { e throws(AliceDBError) in
            try e.reader(series).pieces(from: from, to: to, summarize: summarize)
        }
    }

    /// Points, bytes, bytes/point and model mix, per series and in total.
    public func stats(series: String? = nil) throws -> DatabaseStats {
        try locked { e throws(AliceDBError) in try e.stats(series: series) }
    }

    /// The stored segments of a series.
    public func inspect(_ series: String) throws -> [SegmentInfo] {
        try locked { e throws(AliceDBError) in try e.inspect(try e.seriesID(series, create: false)) }
    }

    /// Re-decodes every segment and checks it against its header and bound.
    public func verify() throws -> VerifyReport {
        try locked { e throws(AliceDBError) in try e.verify() }
    }

    public var counters: WriteCounters { engine.withLock { $0.counters } }

    /// Bytes the MemTables hold allocated now (what the memory budget bounds).
    public var memTableBytes: Int { engine.withLock { $0.memBytes } }

    // MARK: Shipping segments

    /// The next segments to ship upstream, from the persisted cursor on (about `maxBytes` of
    /// them, at least one frame if any). Needs `DatabaseOptions.outbox`.
    /// - Complexity: reads the frames it returns; O(segment files) to find them.
    public func outbox(maxBytes: Int = 1 << 20) throws -> OutboxBatch {
        try locked { e throws(AliceDBError) in try e.outbox(maxBytes: maxBytes) }
    }

    /// Moves the persisted cursor past `batch` once the receiver has stored it (synced on return).
    public func acknowledge(_ batch: OutboxBatch) throws {
        try locked { e throws(AliceDBError) in try e.acknowledge(batch) }
    }

    /// What waits in the outbox (segments, bytes, seconds behind); a reader reads the writer's cursor.
    public func uplinkLag() throws -> UplinkLag {
        try locked { e throws(AliceDBError) in try e.uplinkLag() }
    }

    /// Stores a batch of segments received from a gateway (verified, deduplicated, synced).
    public func importSegments(_ batch: SegmentBatch) throws -> ImportReport {
        try locked { e throws(AliceDBError) in try e.importSegments(batch) }
    }

    /// Segment refs the index holds in memory (those of files not yet sealed); bounded by
    /// `SegmentStore.maxActiveRefs` in a writer, whatever the number of segments stored.
    public var indexRefsInMemory: Int { engine.withLock { $0.store.refsInMemory } }

    // MARK: Maintenance

    /// Fits and writes every buffered point, and syncs.
    public func flush() throws { try locked { e throws(AliceDBError) in try e.flushAll() } }

    /// Makes every acknowledged point durable in the WAL.
    /// - Throws: `.diskFull` when the disk is full (the points stay in memory; see `diskStatus`).
    public func sync() throws { try locked { e throws(AliceDBError) in try e.writes.syncWAL() } }

    /// Hands the WAL records buffered in this process to the operating system (a write, no fsync):
    /// from then on they survive a crash of the process, though not a power cut before the next sync.
    /// While the disk is full they stay buffered (`diskStatus`); maintenance writes them when it can.
    public func writeWAL() throws { try locked { e throws(AliceDBError) in try e.writes.writeWAL(sync: false) } }

    /// A full disk, the WAL's bytes and the disk budget: what a writer should know before it takes
    /// more points.
    /// - Complexity: O(segment files).
    public var diskStatus: DiskStatus { engine.withLock { $0.diskStatus } }

    /// Merges segment files smaller than `smallBytes`; returns how many were merged.
    @discardableResult
    public func compact(smallBytes: Int = 4 << 20) throws -> Int {
        try locked { e throws(AliceDBError) in try e.compact(smallBytes: smallBytes) }
    }

    /// Deletes segments older than `olderThan` (timestamp units) and then the oldest until the
    /// segment files fit in `maxBytes`.
    @discardableResult
    public func applyRetention(olderThan: Int64? = nil, maxBytes: Int? = nil) throws -> (segments: Int, points: Int) {
        try locked { e throws(AliceDBError) in try e.retain(olderThan: olderThan, maxBytes: maxBytes) }
    }

    /// Flushes every MemTable, syncs, removes the WAL and releases the lock.
    public func close() throws {
        timer?.source.cancel()
        abandonRecompression()
        try locked { e throws(AliceDBError) in try e.close() }
    }
}

/// Holds the dispatch timer of background maintenance. `@unchecked Sendable`: a dispatch source
/// is safe to cancel from any thread (libdispatch locks internally), and nothing else is stored.
private final class MaintenanceTimer: @unchecked Sendable {
    let source: any DispatchSourceTimer
    init(source: any DispatchSourceTimer) { self.source = source }
}
