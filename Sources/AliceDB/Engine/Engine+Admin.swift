internal import AliceFormat
internal import Logging

extension Engine {
    func stats(series name: String?) throws(AliceDBError) -> DatabaseStats {
        try checkOpen()
        try writeWAL(sync: false)
        return try StatsCollector(path: path, store: store, mem: mem, catalog: catalog).stats(
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
        let shipped = shippedFiles()
        let done = try SegmentRewriter(store: store).compact(smallBytes: smallBytes, eligible: compactable)
        try markShipped(done.files, from: shipped)
        return done.merged
    }

    /// Deletes segments whose newest point is older than `olderThan`, then the oldest segments
    /// until the segment files fit in `maxBytes` (`Retention`; with `acknowledgedOnly`, only those
    /// the uplink acknowledged). Counted and logged.
    func retain(olderThan: Int64?, maxBytes: Int?, acknowledgedOnly: Bool = false) throws(AliceDBError) -> (
        segments: Int, points: Int
    ) {
        try checkWritable()
        let shipped = shippedFiles()
        let r = Retention(store: store, outbox: outbox)
        guard
            let (done, unshipped) = try r.run(
                olderThan: olderThan, maxBytes: maxBytes, acknowledgedOnly: acknowledgedOnly)
        else { return (0, 0) }
        try markShipped(done.files, from: shipped)
        guard done.segments > 0 else { return (0, 0) }
        counters.retentionSegments += done.segments
        counters.retentionPoints += done.points
        counters.retentionUnshippedSegments += unshipped.segments
        counters.retentionUnshippedPoints += unshipped.points
        logger.warning(
            "retention deleted segments",
            metadata: [
                "segments": "\(done.segments)", "points": "\(done.points)",
                "unshipped_segments": "\(unshipped.segments)", "unshipped_points": "\(unshipped.points)",
                "older_than": "\(olderThan.map(String.init) ?? "-")",
                "max_bytes": "\(maxBytes.map(String.init) ?? "-")",
            ])
        return (done.segments, done.points)
    }
}
