internal import AliceFormat
internal import Logging

/// The single-threaded core of a database; `Database` serialises access to it with a mutex.
final class Engine {
    let path: String
    let options: DatabaseOptions
    var logger: Logger { options.logger }
    var catalog: Catalog
    let store: SegmentStore
    var wal: WAL?
    var mem: MemTable
    var memBytes = 0
    /// A flush happened since the last look for obsolete WAL files.
    var flushedSinceWALCheck = false
    var nextLSN: UInt64 = 1
    var counters = WriteCounters()
    /// The writer's hold on the directory (nil: a reader).
    var lock: DirectoryLock?
    var closed = false
    /// Flushed high-water mark per series (newest flushed timestamp).
    var highWater: [UInt32: Int64] = [:]
    /// A flushing buffer's points, unpacked: kept between flushes so a flush allocates no arrays.
    var flushTS: [Int64] = []
    var flushValues: [Double] = []
    var lastHousekeeping: UInt64 = 0
    /// The segment files as an outbox (nil: not one; a reader loads its cursor when asked).
    var outbox: Outbox?
    /// Writes that found the disk full and wait in memory (Engine+DiskFull).
    var disk = DiskState()
    /// `RetentionPolicy.onFull = .pause`: whether the segment files hold writers back (Engine+DiskBudget).
    var budget = BudgetState()

    /// Files compaction may merge: in an outbox, only those already acknowledged, so that what is
    /// merged is not shipped again under the merged file's new number.
    var compactable: (UInt64) -> Bool {
        guard let outbox else { return { _ in true } }
        return { [store] in outbox.fullyShipped($0, store) }
    }

    init(path: String, options: DatabaseOptions) throws(AliceDBError) {
        self.path = path
        self.options = options
        if options.readOnly {
            guard FileIO.exists(path + "/catalog.json") || FileIO.exists(path + "/segments") else {
                throw AliceDBError(.notFound, "no database here", path: path)
            }
        } else {
            try FileIO.makeDirectory(path)
        }
        lock = options.readOnly ? nil : try DirectoryLock(dir: path)
        do {
            catalog = try Catalog.load(path: path + "/catalog.json")
            store = SegmentStore(dir: path + "/segments", readOnly: options.readOnly, logger: options.logger)
            mem = MemTable(budget: options.readOnly ? Int.max : options.memoryBudget)
            try store.load()
            if options.outbox && !options.readOnly {
                if let state = try UplinkState.load(dir: path) {
                    outbox = Outbox(state: state, dir: path)
                } else {
                    let state = UplinkState()
                    try state.save(dir: path)
                    outbox = Outbox(state: state, dir: path)
                }
            }
            for s in store.totals.keys { if let h = store.highWater(s) { highWater[s] = h } }
            try recover()
        } catch {
            lock?.release()
            throw error
        }
    }

    /// Replays the WAL: every record newer than its series' flushed LSN goes back into the MemTable.
    private func recover() throws(AliceDBError) {
        let walDir = path + "/wal"
        var replayed = 0
        let (files, walMax) = try WAL.replayUnflushed(
            dir: walDir, repair: !options.readOnly, logger: logger, flushed: store.flushed
        ) { r throws(AliceDBError) in
            if catalog.byID[r.series] == nil {
                logger.error(
                    "WAL names a series missing from the catalog; recovered under a generated name",
                    metadata: ["series": "\(r.series)"])
                _ = catalog.upsert("series-\(r.series)", options: options.defaultSeriesOptions)
                if !options.readOnly { try saveCatalog() }
            }
            replayed += r.timestamps.count
            try insert(
                series: r.series, r.timestamps, r.values, lsn: r.lsn, fromWAL: true, recordOffset: r.recordOffset)
        }
        nextLSN = max(walMax, store.maxLSN) + 1
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
            // A full disk does not stop an open: what the WAL held waits in memory meanwhile.
            _ = try tolerating { () throws(AliceDBError) in try housekeeping() }
            try trimWAL()
        }
    }

    func checkOpen() throws(AliceDBError) {
        if closed { throw AliceDBError(.closed, "database is closed", path: path) }
    }

    func checkWritable() throws(AliceDBError) {
        try checkOpen()
        if options.readOnly { throw AliceDBError(.readOnly, "database is open read-only", path: path) }
    }

    // MARK: Series

    func seriesID(_ name: String, create: Bool) throws(AliceDBError) -> UInt32 {
        if let s = catalog.byName[name] { return s.id }
        guard create else { throw AliceDBError(.notFound, "unknown series '\(name)'", path: path) }
        try checkWritable()
        try SeriesName.validate(name)
        let s = catalog.upsert(name, options: options.defaultSeriesOptions)
        try saveCatalog()
        return s.id
    }

    /// Creates or changes several series with one catalog write (an agent meeting many new topics).
    func setOptions(_ list: [(name: String, options: SeriesOptions)]) throws(AliceDBError) -> [SeriesInfo] {
        try checkWritable()
        for (name, opts) in list { try opts.check(series: name) }
        var out: [SeriesInfo] = []
        out.reserveCapacity(list.count)
        for (name, opts) in list {
            if let id = catalog.byName[name]?.id, mem.buffers[id]?.count ?? 0 > 0, catalog.byID[id]?.options != opts {
                try flushSeries(id)  // buffered points keep the bound they were written under
            }
        }
        // A catalog that cannot be written is not changed in memory either: no series is left
        // behind with options it does not have on disk.
        let before = catalog
        for (name, opts) in list { out.append(catalog.upsert(name, options: opts)) }
        if !list.isEmpty {
            do { try saveCatalog() } catch {
                catalog = before
                throw error
            }
        }
        return out
    }

    /// Stores several series' points: series missing from the catalog, or whose options differ,
    /// get the batch's options first (one catalog write for all); a series that cannot be created
    /// or changed stores nothing, and its error stands in its place in the result.
    func putBatches(_ batches: [SeriesBatch]) throws(AliceDBError) -> [AliceDBError?] {
        try checkWritable()
        let (changes, changed, refused) = catalog.changes(for: batches)
        var results = refused
        if !changes.isEmpty {
            do throws(AliceDBError) { _ = try setOptions(changes) } catch { for i in changed { results[i] = error } }
        }
        for (i, b) in batches.enumerated() where results[i] == nil {
            guard let id = catalog.byName[b.series]?.id else { continue }
            results[i] = b.timestamps.withUnsafeBufferPointer { t in
                b.values.withUnsafeBufferPointer { v in
                    do throws(AliceDBError) { try put(series: id, t, v) } catch { return error }
                    return nil
                }
            }
        }
        return results
    }

    /// The queries over a series, as it stands under the lock.
    func reader(_ name: String) throws(AliceDBError) -> SeriesReader {
        try checkOpen()
        let id = try seriesID(name, create: false)
        return SeriesReader(series: id, store: store, buffer: mem.buffers[id])
    }

    // MARK: Writes

    func put(series: UInt32, _ ts: UnsafeBufferPointer<Int64>, _ values: UnsafeBufferPointer<Double>)
        throws(AliceDBError)
    {
        try checkWritable()
        guard ts.count == values.count else {
            throw AliceDBError(.invalidArgument, "putBatch: \(ts.count) timestamps but \(values.count) values")
        }
        guard !ts.isEmpty, let wal else { return }
        try checkRoomToHold(points: ts.count)
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
        let bound = catalog.byID[series]?.options.bound ?? .lossless
        flushTS.removeAll(keepingCapacity: true)
        flushValues.removeAll(keepingCapacity: true)
        buffer.unpack(into: &flushTS, &flushValues)
        let segments = flushTS.withUnsafeBufferPointer { t in
            flushValues.withUnsafeBufferPointer { v in
                Competition.encode(
                    seriesID: series, timestamps: t, values: v, range: 0..<t.count, bound: bound,
                    options: options.fitter)
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

    /// Lets go of the directory without a flush (a database dropped without `close()`): the WAL's
    /// buffered records are written (no fsync) so that the next open replays them, descriptors are
    /// closed and the lock released.
    func release() {
        guard !closed else { return }
        closed = true
        if !options.readOnly {
            let buffered = mem.buffers.values.reduce(0) { $0 + $1.count }
            if buffered > 0 {
                logger.warning(
                    "database dropped without close(); its buffered points stay in the WAL for the next open",
                    metadata: ["path": "\(path)", "points": "\(buffered)"])
            }
            try? saveCatalogIfDirty()
            try? wal?.flushBuffer()
            wal?.close()
        }
        store.closeFiles()
        lock?.release()
    }

    func close() throws(AliceDBError) {
        guard !closed else { return }
        if !options.readOnly {
            try flushAll()
            wal?.close()
            // Everything is in segments now: the WAL files can all go.
            if let files = try? WAL.files(in: path + "/wal") {
                for f in files { try FileIO.remove(path + "/wal/" + WAL.fileName(f)) }
            }
        }
        try store.close()
        closed = true
        lock?.release()
    }
}
