internal import AliceFormat
internal import Logging

/// The write path of a database: a put goes into the WAL as one record, then into its series'
/// buffer in the MemTable; a buffer that is full (or over the memory budget, too old, or holding
/// records of WAL files past their bound) is fitted, verified and written as segments; WAL files
/// whose points are all in segments are deleted. It owns what a write changes — the catalog it
/// saves before anything naming a series is written, the WAL, the MemTable, the counters — and
/// shares the segment store and the disk guard with the engine, which checks that it is open and
/// writable before calling it (a reader only replays the WAL into it).
final class WritePath {
    let options: DatabaseOptions
    var logger: Logger { options.logger }
    let store: SegmentStore
    /// Whether the disk is full, and what waits in memory for it (the engine's too).
    let disk: DiskGuard
    var catalog: Catalog
    var wal: WAL?
    var mem: MemTable
    var memBytes = 0
    /// A flush happened since the last look for obsolete WAL files.
    var flushedSinceWALCheck = false
    var nextLSN: UInt64 = 1
    var counters = WriteCounters()
    /// Flushed high-water mark per series (newest flushed timestamp).
    var highWater: [UInt32: Int64] = [:]
    /// A flushing buffer's points, unpacked: kept between flushes so a flush allocates no arrays.
    private var flushTS: [Int64] = []
    private var flushValues: [Double] = []

    /// Over a loaded store; nothing is replayed until `recover`.
    init(options: DatabaseOptions, catalog: Catalog, store: SegmentStore, disk: DiskGuard) {
        self.options = options
        self.catalog = catalog
        self.store = store
        self.disk = disk
        mem = MemTable(budget: options.readOnly ? Int.max : options.memoryBudget)
        for s in store.totals.keys { if let h = store.highWater(s) { highWater[s] = h } }
    }

    /// The highest LSN an open accepts (2^63): no writer gets near it.
    static let maxLSN: UInt64 = 1 << 63

    /// Replays the WAL: every record newer than its series' flushed LSN goes back into the MemTable.
    /// Then (a writer) opens the WAL for appending and deletes the files it no longer needs.
    func recover(walDir: String) throws(AliceDBError) {
        var replayed = 0
        let (files, walMax) = try WAL.replayUnflushed(
            dir: walDir, repair: !options.readOnly, logger: logger, flushed: store.flushed
        ) { r throws(AliceDBError) in
            if catalog.byID[r.series] == nil {
                logger.error(
                    "WAL names a series missing from the catalog; recovered under a generated name",
                    metadata: ["series": "\(r.series)"])
                _ = catalog.restore(id: r.series, options: options.defaultSeriesOptions)
                if !options.readOnly { try saveCatalog() }
            }
            replayed += r.timestamps.count
            try insert(
                series: r.series, r.timestamps, r.values, lsn: r.lsn, fromWAL: true, recordOffset: r.recordOffset)
        }
        // An LSN past 2^63 is no count of writes but damage (a frame or record whose checksum holds
        // by chance, or was made to): `+ 1` trapped at 2^64 - 1. A reader never writes; a writer
        // would run the counter over, so it refuses.
        let lastLSN = max(walMax, store.maxLSN)
        if lastLSN > WritePath.maxLSN && !options.readOnly {
            throw AliceDBError(
                .corrupt, "a segment frame or WAL record has LSN \(lastLSN), past \(WritePath.maxLSN)",
                path: walDir)
        }
        nextLSN = min(lastLSN, WritePath.maxLSN) + 1
        // A reader sees a live writer's unflushed points on every open: not news.
        if replayed > 0 {
            logger.log(
                level: options.readOnly ? .debug : .info, "recovered points from the WAL",
                metadata: ["points": "\(replayed)"])
        }
        if !options.readOnly {
            let w = WAL(dir: walDir, logger: logger, fileLimit: options.walMaxBytes.map { $0 / 4 } ?? WAL.maxFileBytes)
            try w.openForAppend(existing: files)
            wal = w
            try removeObsoleteWAL()
        }
    }

    /// Stores points of one series: one WAL record, then into its buffer (`insert`). The engine
    /// checked that it is writable.
    func put(series: UInt32, _ ts: UnsafeBufferPointer<Int64>, _ values: UnsafeBufferPointer<Double>)
        throws(AliceDBError)
    {
        guard ts.count == values.count else {
            throw AliceDBError(.invalidArgument, "putBatch: \(ts.count) timestamps but \(values.count) values")
        }
        guard !ts.isEmpty, let wal else { return }
        // Points held in memory for want of disk may not pass twice the memory budget.
        try disk.checkRoomToHold(points: ts.count, held: memBytes + wal.bufferedBytes, limit: 2 * mem.budget)
        let lsn = nextLSN
        nextLSN += 1
        let mark = wal.bufferedBytes
        wal.append(lsn: lsn, series: series, ts: ts, values: values)
        if case .everyWrite = options.sync {
            // Durable before it is stored, or not stored at all (a full disk included).
            do { try syncWAL() } catch {
                wal.discardBuffered(from: mark)
                throw error
            }
        }
        try insert(series: series, ts, values, lsn: lsn, fromWAL: false)
        counters.points += ts.count
        switch options.sync {
        case .everyWrite:
            break
        case .interval(let ms):
            if FileIO.monotonicNanos() &- wal.lastSyncNanos >= UInt64(max(ms, 0)) * 1_000_000 {
                try writeWAL(sync: true)
            } else if wal.bufferedBytes >= WAL.bufferLimit {
                try writeWAL(sync: false)
            }
        case .off:
            if wal.bufferedBytes >= WAL.bufferLimit { try writeWAL(sync: false) }
        }
        try trimWAL()
    }

    func insert<T: Collection, V: Collection>(
        series: UInt32, _ ts: T, _ values: V, lsn: UInt64, fromWAL: Bool, recordOffset: UInt64 = 0
    ) throws(AliceDBError) where T.Element == Int64, V.Element == Double {
        let now = FileIO.monotonicNanos()
        let capacity = options.readOnly ? Int.max : catalog.byID[series]?.options.capacity ?? options.defaultCapacity
        let high = highWater[series] ?? Int64.min
        var buffer = mem.buffers.removeValue(forKey: series) ?? SeriesBuffer(capacity: capacity)
        buffer.capacity = capacity
        memBytes -= buffer.bytes
        var late = 0
        var outOfOrder = 0
        var t = ts.startIndex
        var v = values.startIndex
        var done = recordOffset
        do {
            // Back into the MemTable however the loop ends (a flush can throw).
            defer {
                memBytes += buffer.bytes
                mem.buffers[series] = buffer
            }
            while t != ts.endIndex {
                done += 1
                let time = ts[t]
                if time <= high { late += 1 }
                if buffer.insert(time, values[v], lsn: lsn, now: now) { outOfOrder += 1 }
                if buffer.isFull && disk.full == nil {
                    // Mid-record, the frame says how many of this record's points it holds.
                    let whole = ts.index(after: t) == ts.endIndex && !fromWAL
                    let recordPoints = whole ? 0 : done
                    // A full disk: the buffer grows past its capacity until there is room again.
                    if try tolerating({ () throws(AliceDBError) in
                        try flush(series, &buffer, release: false, recordPoints: recordPoints)
                    }) {
                        counters.flushesFull += 1
                    }
                }
                t = ts.index(after: t)
                v = values.index(after: v)
            }
        }
        if !fromWAL {
            counters.late += late
            counters.outOfOrder += outOfOrder
        }
        while memBytes > mem.budget, disk.full == nil, let victim = mem.victim() {
            if try tolerating({ () throws(AliceDBError) in try flushSeries(victim, release: true, cleanWAL: false) }) {
                counters.flushesBudget += 1
            }
        }
        // Only a flush can make WAL files obsolete; checking costs a pass over every buffer.
        if !fromWAL && flushedSinceWALCheck { try removeObsoleteWAL() }
    }

    /// Fits, verifies and writes every buffered point of a series, then empties its buffer.
    /// - Parameter cleanWAL: delete WAL files made obsolete; false while a batch is half inserted,
    ///   because its record's points are then partly outside every buffer yet still needed.
    /// - Parameter recordPoints: how many points of the newest record are in the buffer (0: all).
    func flushSeries(
        _ series: UInt32, release: Bool = false, cleanWAL: Bool = true, recordPoints: UInt64 = 0
    ) throws(AliceDBError) {
        guard !options.readOnly, var buffer = mem.buffers.removeValue(forKey: series) else { return }
        memBytes -= buffer.bytes
        do {
            defer {
                memBytes += buffer.bytes
                mem.buffers[series] = buffer
            }
            try flush(series, &buffer, release: release, recordPoints: recordPoints)
        }
        if cleanWAL { try removeObsoleteWAL() }
    }

    /// `flushSeries` on a buffer held outside `mem` (and outside `memBytes`). Taking it out first
    /// matters: emptying an array that the dictionary still shares copies it (copy on write), so
    /// every flush allocated both arrays afresh, on whichever thread flushed.
    private func flush(
        _ series: UInt32, _ buffer: inout SeriesBuffer, release: Bool, recordPoints: UInt64
    ) throws(AliceDBError) {
        guard !options.readOnly, buffer.count > 0 else { return }
        try saveCatalogIfDirty()  // a segment names its series: the catalog must know it first
        let seriesOptions = catalog.byID[series]?.options ?? SeriesOptions()
        var fitter = options.fitter
        fitter.profile = seriesOptions.profile ?? fitter.profile
        flushTS.removeAll(keepingCapacity: true)
        flushValues.removeAll(keepingCapacity: true)
        buffer.unpack(into: &flushTS, &flushValues)
        let segments = flushTS.withUnsafeBufferPointer { t in
            flushValues.withUnsafeBufferPointer { v in
                Competition.encode(
                    seriesID: series, timestamps: t, values: v, range: 0..<t.count, bound: seriesOptions.bound,
                    timeTolerance: seriesOptions.timeTolerance ?? 0, options: fitter)
            }
        }
        try store.append(
            series: series, position: WALPosition(lsn: buffer.newestLSN, points: recordPoints), segments: segments)
        counters.segments += segments.count
        counters.segmentBytes += segments.reduce(0) { $0 + $1.bytes.count }
        highWater[series] = max(highWater[series] ?? Int64.min, buffer.last)
        buffer.clear(release: release)
        flushedSinceWALCheck = true
    }

    /// Deletes WAL files whose points are all in segments (after making those segments durable).
    /// While the disk is full nothing is flushed, so nothing becomes obsolete: it waits for room.
    func removeObsoleteWAL() throws(AliceDBError) {
        guard let wal, disk.full == nil else { return }
        flushedSinceWALCheck = false
        let minUnflushed = mem.minUnflushedLSN(else: nextLSN)
        _ = try tolerating { () throws(AliceDBError) in
            // Nothing buffered: the current file holds only flushed points; start a new one so it can go.
            if minUnflushed == nextLSN && wal.currentBytes > 0 {
                try wal.flushBuffer()
                try wal.rotate()
            }
            if wal.fileMaxLSN.contains(where: { $0.key != wal.currentFile && $0.value < minUnflushed }) {
                try store.sync()
                try wal.removeObsolete(minUnflushedLSN: minUnflushed)
            }
        }
    }

    /// - Throws: `.diskFull` when the disk is still full (everything stays in memory and the WAL).
    /// Fits and writes every buffered point, and syncs.
    func flushAll() throws(AliceDBError) {
        try retryDisk(force: true)
        if let full = disk.full { throw full }
        for s in mem.buffers.keys.sorted() where mem.buffers[s]!.count > 0 {
            try flushSeries(s)
            counters.flushesExplicit += 1
        }
        try store.sync()
        try syncWAL()
        try removeObsoleteWAL()
    }
}
