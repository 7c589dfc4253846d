internal import AliceFormat

/// A writer's periodic work (the database's timer, or the agent's maintenance service, calls
/// `maintenance`), beside the write path.
extension Engine {
    /// Housekeeping of a writer: retention, then compaction of small files.
    func housekeeping() throws(AliceDBError) {
        guard !closed, !options.readOnly else { return }
        lastHousekeeping = FileIO.monotonicNanos()
        // The budget's `pause` is `checkBudget`'s, every maintenance.
        let maxBytes = options.retention?.onFull == .dropOldest ? options.retention?.maxBytes : nil
        if let r = options.retention, r.maxAgeMilliseconds != nil || maxBytes != nil {
            let cutoff = r.maxAgeMilliseconds.map { FileIO.wallMillis() &- $0 }
            _ = try retain(olderThan: cutoff, maxBytes: maxBytes)
        }
        let eligible = compactable
        if SegmentRewriter(store: store).smallFiles(below: options.compactSmallBytes, eligible: eligible).count
            >= options.compactAfterFiles
        {
            let shipped = shippedFiles()
            let done = try SegmentRewriter(store: store).compact(
                smallBytes: options.compactSmallBytes, eligible: eligible)
            try markShipped(done.files, from: shipped)
        }
    }

    /// Periodic work: WAL group commit, age-based flushes, and every minute housekeeping.
    /// While the disk is full, only a retry of what waits for it (at most once a second).
    func maintenance() throws(AliceDBError) {
        guard !closed, !options.readOnly, let wal else { return }
        try retryDisk()
        guard disk.full == nil else { return }
        if FileIO.monotonicNanos() &- lastHousekeeping >= 60_000_000_000 { try housekeeping() }
        try checkBudget()
        if case .interval(let ms) = options.sync,
            FileIO.monotonicNanos() &- wal.lastSyncNanos >= UInt64(max(ms, 0)) * 1_000_000
        {
            try writeWAL(sync: true)
        }
        if let age = options.maxBufferAgeSeconds {
            let now = FileIO.monotonicNanos()
            let limit = UInt64(max(0, age) * 1e9)
            for (s, b) in mem.buffers where b.count > 0 && now &- b.firstArrival >= limit && disk.full == nil {
                if try tolerating({ () throws(AliceDBError) in try flushSeries(s) }) { counters.flushesAge += 1 }
            }
        }
        try trimWAL()
    }
}
