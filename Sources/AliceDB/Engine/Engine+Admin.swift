internal import AliceFormat

/// Statistics, audits, and the rewrites an operator asks for (`SegmentUpkeep` does them).
extension Engine {
    func stats(series name: String?) throws(AliceDBError) -> DatabaseStats {
        try checkOpen()
        try writes.writeWAL(sync: false)
        return try StatsCollector(path: path, store: store, mem: writes.mem, catalog: catalog).stats(
            series: name, counters: counters)
    }

    func inspect(_ series: UInt32) throws(AliceDBError) -> [SegmentInfo] {
        try checkOpen()
        return try StoreAudit(store: store, catalog: catalog).inspect(series)
    }

    func verify() throws(AliceDBError) -> VerifyReport {
        try checkOpen()
        return try StoreAudit(store: store, catalog: catalog).verify()
    }

    func compact(smallBytes: Int) throws(AliceDBError) -> Int {
        try checkWritable()
        try flushAll()
        return try upkeep.compact(smallBytes: smallBytes)
    }

    /// Deletes segments whose newest point is older than `olderThan`, then the oldest segments
    /// until the segment files fit in `maxBytes` (`SegmentUpkeep.retain`). Counted and logged.
    func retain(olderThan: Int64?, maxBytes: Int?, acknowledgedOnly: Bool = false) throws(AliceDBError) -> (
        segments: Int, points: Int
    ) {
        try checkWritable()
        let (done, unshipped) = try upkeep.retain(
            olderThan: olderThan, maxBytes: maxBytes, acknowledgedOnly: acknowledgedOnly)
        guard done.segments > 0 else { return (0, 0) }
        writes.counters.retentionSegments += done.segments
        writes.counters.retentionPoints += done.points
        writes.counters.retentionUnshippedSegments += unshipped.segments
        writes.counters.retentionUnshippedPoints += unshipped.points
        return done
    }
}
