internal import AliceFormat
internal import Logging

/// The two bounds on what a writer keeps on disk besides the age of its data: the WAL's bytes
/// (`DatabaseOptions.walMaxBytes`) and the segment files' budget when it pauses instead of
/// dropping (`RetentionPolicy.onFull = .pause`).
extension Engine {
    /// Where the `pause` budget stands.
    struct BudgetState {
        /// The segment files reached the budget and retention could not free enough room.
        var full = false
        /// The uplink acknowledged segments since retention last tried: it may free more now.
        var acknowledgedSinceTry = false
        /// When retention last tried (monotonic ns).
        var lastTry: UInt64 = 0
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

    /// `onFull = .pause`, each maintenance: at the budget, retention deletes segments the uplink
    /// has acknowledged (down to 5 % under the budget, so that intake does not stop and start
    /// with every flush); when that is not enough, `budget.full` holds writers back until the
    /// uplink's acknowledgements let retention free the room.
    func checkBudget() throws(AliceDBError) {
        guard let r = options.retention, r.onFull == .pause, let limit = r.maxBytes else { return }
        let resume = limit - limit / 20
        let bytes = store.totalBytes
        if !budget.full && bytes < limit { return }
        // What is flushed may ship only once synced: at the budget, waiting for the next WAL file
        // deletion to sync it could keep intake paused for nothing.
        _ = try tolerating { () throws(AliceDBError) in try store.sync() }
        let now = FileIO.monotonicNanos()
        if outbox != nil && (!budget.full || budget.acknowledgedSinceTry) && now &- budget.lastTry >= 1_000_000_000 {
            budget.lastTry = now
            budget.acknowledgedSinceTry = false
            _ = try tolerating { () throws(AliceDBError) in
                _ = try retain(olderThan: nil, maxBytes: resume, acknowledgedOnly: true)
            }
        }
        let after = store.totalBytes
        let full = budget.full ? after > resume : after >= limit
        guard full != budget.full else { return }
        budget.full = full
        if full {
            logger.warning(
                "disk budget full: writes should pause until the uplink's acknowledgements free room",
                metadata: ["segment_bytes": "\(after)", "max_bytes": "\(limit)", "outbox": "\(outbox != nil)"])
        } else {
            logger.warning(
                "disk budget has room again", metadata: ["segment_bytes": "\(after)", "max_bytes": "\(limit)"])
        }
    }
}
