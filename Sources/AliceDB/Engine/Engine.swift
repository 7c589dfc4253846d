internal import AliceFormat
internal import Logging

/// The single-threaded core of a database; `Database` serialises access to it with a mutex.
///
/// It opens and closes the directory, checks every call (open, writable), and answers the series
/// and query API. What a write changes is the write path's (`WritePath`: catalog, WAL, MemTable);
/// retention, compaction and the outbox are `SegmentUpkeep`'s; a full disk and the disk budget
/// are `DiskGuard`'s and `DiskBudget`'s.
final class Engine {
    let path: String
    let options: DatabaseOptions
    var logger: Logger { options.logger }
    let store: SegmentStore
    let writes: WritePath
    /// The writer's hold on the directory (nil: a reader).
    var lock: DirectoryLock?
    var closed = false
    var lastHousekeeping: UInt64 = 0
    /// Retention, compaction and the outbox over the segment files.
    var upkeep: SegmentUpkeep
    /// Whether the disk is full, and what waits in memory for it (shared with the write path).
    let disk: DiskGuard
    /// `RetentionPolicy.onFull = .pause`: whether the segment files hold writers back.
    var budget = DiskBudget()

    /// The series as the write path keeps them.
    var catalog: Catalog { writes.catalog }
    var counters: WriteCounters { writes.counters }
    var memBytes: Int { writes.memBytes }

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
        disk = DiskGuard(logger: options.logger)
        do {
            let catalog = try Catalog.load(path: path + "/catalog.json")
            let store = SegmentStore(dir: path + "/segments", readOnly: options.readOnly, logger: options.logger)
            try store.load()
            self.store = store
            var outbox: Outbox? = nil
            if options.outbox && !options.readOnly {
                if let state = try UplinkState.load(dir: path) {
                    outbox = Outbox(state: state, dir: path)
                } else {
                    let state = UplinkState()
                    try state.save(dir: path)
                    outbox = Outbox(state: state, dir: path)
                }
            }
            // A number marked shipped whose file a crash kept from appearing is never given to a new file.
            if let outbox { store.highestID = max(store.highestID, outbox.reservedNumber) }
            upkeep = SegmentUpkeep(store: store, path: path, logger: options.logger, outbox: outbox)
            writes = WritePath(options: options, catalog: catalog, store: store, disk: disk)
            try writes.recover(walDir: path + "/wal")
            if !options.readOnly {
                // The directory's entries (wal/, segments/, the files in it) and the directory itself
                // in its parent are durable before any write is acknowledged, even if an earlier
                // open created them and failed before it could sync them.
                try FileIO.syncDirectory(path)
                try FileIO.syncParent(of: path)
                // A full disk does not stop an open: what the WAL held waits in memory meanwhile.
                _ = try tolerating { () throws(AliceDBError) in try housekeeping() }
                try writes.trimWAL()
            }
        } catch {
            lock?.release()
            throw error
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
        let s = writes.catalog.upsert(name, options: options.defaultSeriesOptions)
        try writes.saveCatalog()
        return s.id
    }

    /// Creates or changes several series with one catalog write (an agent meeting many new topics).
    func setOptions(_ list: [(name: String, options: SeriesOptions)]) throws(AliceDBError) -> [SeriesInfo] {
        try checkWritable()
        for (name, opts) in list { try opts.check(series: name) }
        var out: [SeriesInfo] = []
        out.reserveCapacity(list.count)
        for (name, opts) in list {
            if let id = catalog.byName[name]?.id, writes.mem.buffers[id]?.count ?? 0 > 0,
                catalog.byID[id]?.options != opts
            {
                try writes.flushSeries(id)  // buffered points keep the bound they were written under
            }
        }
        // A catalog that cannot be written is not changed in memory either: no series is left
        // behind with options it does not have on disk.
        let before = catalog
        for (name, opts) in list { out.append(writes.catalog.upsert(name, options: opts)) }
        if !list.isEmpty {
            do { try writes.saveCatalog() } catch {
                writes.catalog = before
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
        return SeriesReader(series: id, store: store, buffer: writes.mem.buffers[id])
    }

    // MARK: Writes

    func put(series: UInt32, _ ts: UnsafeBufferPointer<Int64>, _ values: UnsafeBufferPointer<Double>)
        throws(AliceDBError)
    {
        try checkWritable()
        try writes.put(series: series, ts, values)
    }

    /// - Throws: `.diskFull` when the disk is still full (everything stays in memory and the WAL).
    func flushAll() throws(AliceDBError) { try writes.flushAll() }

    /// Lets go of the directory without a flush (a database dropped without `close()`): the WAL's
    /// buffered records are written (no fsync) so that the next open replays them, descriptors are
    /// closed and the lock released.
    func release() {
        guard !closed else { return }
        closed = true
        if !options.readOnly { writes.release(path: path) }
        store.closeFiles()
        lock?.release()
    }

    func close() throws(AliceDBError) {
        guard !closed else { return }
        if !options.readOnly { try writes.close(walDir: path + "/wal") }
        try store.close()
        closed = true
        lock?.release()
    }
}
