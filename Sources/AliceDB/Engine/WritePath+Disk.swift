internal import AliceFormat
internal import Logging

/// The write path against its disk: writes that may find it full (`DiskGuard` keeps the state),
/// the WAL's writes, the retry of what waited in memory, the WAL's bound, and the periodic work.
extension WritePath {
    /// Runs a write that may find the disk full.
    /// - Returns: false when it did (noted in `disk`); other errors are thrown.
    func tolerating(_ body: () throws(AliceDBError) -> Void) throws(AliceDBError) -> Bool {
        try disk.tolerating(walBuffered: self.wal?.bufferedBytes ?? 0, body)
    }

    /// Writes the catalog; a full disk keeps it in memory (`DiskGuard.save`).
    func saveCatalog() throws(AliceDBError) { try disk.save(catalog, walBuffered: self.wal?.bufferedBytes ?? 0) }

    func saveCatalogIfDirty() throws(AliceDBError) { try disk.saveIfDirty(catalog) }

    /// Hands the WAL's buffer to the OS (and fsyncs it with `sync`). A full disk is noted, not
    /// thrown: the records stay buffered for `retryDisk`.
    func writeWAL(sync: Bool) throws(AliceDBError) {
        guard let wal, disk.full == nil else { return }
        _ = try tolerating { () throws(AliceDBError) in
            try saveCatalogIfDirty()
            if sync { try wal.sync() } else { try wal.flushBuffer() }
        }
    }

    /// Writes and fsyncs the WAL, or throws (a full disk too, noted as well).
    func syncWAL() throws(AliceDBError) {
        guard let wal else { return }
        do throws(AliceDBError) {
            try saveCatalogIfDirty()
            try wal.sync()
        } catch {
            if error.code == .diskFull { disk.note(error, walBuffered: wal.bufferedBytes) }
            throw error
        }
    }

    /// While the disk is full, tries again what waits for it (at most once a second unless
    /// `force`): the catalog, the WAL's buffer, then the flushes that were held back. When all of
    /// it goes through, the disk has room again.
    func retryDisk(force: Bool = false) throws(AliceDBError) {
        guard let wal, !options.readOnly else { return }
        let roomAgain = try disk.retry(force: force, walBuffered: wal.bufferedBytes) { () throws(AliceDBError) in
            try saveCatalogIfDirty()
            try wal.flushBuffer()
            let full = mem.buffers.filter { $0.value.count > 0 && $0.value.isFull }.map(\.key).sorted()
            for s in full {
                try flushSeries(s, cleanWAL: false)
                counters.flushesFull += 1
            }
            while memBytes > mem.budget, let victim = mem.victim() {
                try flushSeries(victim, release: true, cleanWAL: false)
                counters.flushesBudget += 1
            }
        }
        if roomAgain { try removeObsoleteWAL() }
    }

    /// Keeps the WAL within `walMaxBytes`: past it, the buffers holding records of the oldest WAL
    /// files are flushed (oldest record first), until deleting those files brings the WAL back
    /// under the limit. Each file is at most a quarter of the limit, so one trim frees about that.
    /// - Complexity: O(buffers) to find those to flush, plus the flushes.
    func trimWAL() throws(AliceDBError) {
        guard let limit = options.walMaxBytes, let wal, disk.full == nil, wal.totalBytes > limit else { return }
        let excess = wal.totalBytes - limit
        var freed = 0
        var cut: UInt64 = 0  // every record up to this LSN must be in segments
        for f in wal.closedFiles where freed < excess {
            freed += f.bytes
            cut = max(cut, f.maxLSN)
        }
        if freed < excess {
            // The closed files are not enough: the current one goes too.
            cut = nextLSN &- 1
            guard try tolerating({ () throws(AliceDBError) in try wal.flushBuffer() }) else { return }
        }
        let due = mem.buffers.filter { $0.value.count > 0 && $0.value.oldestLSN <= cut }
            .sorted { $0.value.oldestLSN < $1.value.oldestLSN }.map(\.key)
        for s in due {
            guard try tolerating({ () throws(AliceDBError) in try flushSeries(s, cleanWAL: false) }) else { return }
            counters.flushesWAL += 1
        }
        try removeObsoleteWAL()
    }

    /// Periodic work (`Engine.maintenance`, while the disk has room): the WAL's group commit,
    /// age-based flushes, and the WAL's bound.
    func maintain() throws(AliceDBError) {
        guard let wal else { return }
        if case .interval(let ms) = options.sync,
            FileIO.monotonicNanos() &- wal.lastSyncNanos >= UInt64(max(ms, 0)) * 1_000_000
        {
            try writeWAL(sync: true)
        }
        if let age = options.maxBufferAgeSeconds {
            let now = FileIO.monotonicNanos()
            let limit = UInt64(max(0, age) * 1e9)
            // The ids first: iterating `mem.buffers` while flushing held a second reference to every
            // buffer, so each flush copied the dictionary and reallocated the buffer it emptied
            // (the MemTables' memory twice over during an age flush round).
            let due = mem.buffers.compactMap { s, b in b.count > 0 && now &- b.firstArrival >= limit ? s : nil }
            for s in due.sorted() where disk.full == nil {
                if try tolerating({ () throws(AliceDBError) in try flushSeries(s) }) { counters.flushesAge += 1 }
            }
        }
        try trimWAL()
    }

    /// A database dropped without `close()`: the WAL's buffered records are written (no fsync) so
    /// that the next open replays them.
    func release(path: String) {
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

    /// Flushes everything, then closes the WAL and deletes its files: everything is in segments.
    func close(walDir: String) throws(AliceDBError) {
        try flushAll()
        wal?.close()
        if let files = try? WAL.files(in: walDir) {
            for f in files { try FileIO.remove(walDir + "/" + WAL.fileName(f)) }
        }
    }
}
