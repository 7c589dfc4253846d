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
        try upkeep.compactIfDue(smallBytes: options.compactSmallBytes, afterFiles: options.compactAfterFiles)
    }

    /// Periodic work: WAL group commit, age-based flushes, and every minute housekeeping.
    /// While the disk is full, only a retry of what waits for it (at most once a second).
    func maintenance() throws(AliceDBError) {
        guard !closed, !options.readOnly, writes.wal != nil else { return }
        try writes.retryDisk()
        guard disk.full == nil else { return }
        if FileIO.monotonicNanos() &- lastHousekeeping >= 60_000_000_000 { try housekeeping() }
        try checkBudget()
        try writes.maintain()
    }
}
