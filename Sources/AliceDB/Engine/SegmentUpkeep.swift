internal import AliceFormat
internal import Logging

/// What a writer does to its segment files besides appending to them — retention and compaction,
/// which rewrite files — and the outbox over those files, whose cursor must follow every rewrite:
/// compaction merges only files the uplink acknowledged (so nothing merged ships again under the
/// merged file's new number), and a file made only of acknowledged files is acknowledged too
/// (`Outbox.markShipped`).
///
/// The engine owns it and calls it under its lock, after its own checks (open, writable) and with
/// the write path's state settled (compaction flushes first).
struct SegmentUpkeep {
    let store: SegmentStore
    let path: String
    let logger: Logger
    /// The segment files as an outbox (nil: not one; a reader loads its cursor when asked).
    var outbox: Outbox?
    /// The file a recompression job is re-encoding: compaction leaves it alone meanwhile.
    var recompressing: UInt64?
    /// Files recompression has looked at and left as they are (files never change once sealed).
    var settled = Set<UInt64>()

    /// Files compaction and recompression may rewrite: in an outbox, only those already acknowledged.
    var compactable: (UInt64) -> Bool {
        let busy = recompressing
        guard let outbox else { return { $0 != busy } }
        return { [store] in $0 != busy && outbox.fullyShipped($0, store) }
    }

    func requireOutbox() throws(AliceDBError) -> Outbox {
        guard let outbox else {
            throw AliceDBError(.invalidArgument, "this database was not opened as an outbox", path: path)
        }
        return outbox
    }

    /// Records that the receiver has stored `batch`, durably (`Outbox.acknowledge`).
    mutating func acknowledge(_ batch: OutboxBatch) throws(AliceDBError) {
        var o = try requireOutbox()
        try o.acknowledge(batch, store)
        outbox = o
    }

    /// What waits in the outbox; `reload`: a reader, which reads the writer's cursor each time.
    mutating func lag(reload: Bool) throws(AliceDBError) -> UplinkLag {
        if reload { outbox = try UplinkState.load(dir: path).map { Outbox(state: $0, dir: path) } }
        return try outbox?.lag(store) ?? UplinkLag()
    }

    /// Merges the files smaller than `smallBytes` that may be merged; how many were.
    mutating func compact(smallBytes: Int) throws(AliceDBError) -> Int {
        let shipped = outbox?.shippedFiles(store) ?? []
        var o = outbox
        defer { outbox = o }
        let done = try SegmentRewriter(store: store).compact(smallBytes: smallBytes, eligible: compactable) {
            new, old throws(AliceDBError) in try o?.willReplace(old, with: new, shipped: shipped)
        }
        try o?.markShipped(done.files, from: shipped, store)
        return done.merged
    }

    /// Housekeeping's compaction: only once `afterFiles` small files have gathered.
    mutating func compactIfDue(smallBytes: Int, afterFiles: Int) throws(AliceDBError) {
        guard SegmentRewriter(store: store).smallFiles(below: smallBytes, eligible: compactable).count >= afterFiles
        else { return }
        _ = try compact(smallBytes: smallBytes)
    }

    /// Deletes segments whose newest point is older than `olderThan`, then the oldest segments
    /// until the segment files fit in `maxBytes` (`Retention`; with `acknowledgedOnly`, only those
    /// the uplink acknowledged). Logged when it deletes any.
    /// - Returns: what was deleted and, of it, what the uplink had not shipped.
    mutating func retain(olderThan: Int64?, maxBytes: Int?, acknowledgedOnly: Bool) throws(AliceDBError) -> (
        done: (segments: Int, points: Int), unshipped: (segments: Int, points: Int)
    ) {
        let shipped = outbox?.shippedFiles(store) ?? []
        let r = Retention(store: store, outbox: outbox)
        var o = outbox
        defer { outbox = o }
        guard
            let (done, unshipped) = try r.run(
                olderThan: olderThan, maxBytes: maxBytes, acknowledgedOnly: acknowledgedOnly,
                willReplace: { new, old throws(AliceDBError) in try o?.willReplace(old, with: new, shipped: shipped) })
        else { return ((0, 0), (0, 0)) }
        try o?.markShipped(done.files, from: shipped, store)
        guard done.segments > 0 else { return ((0, 0), (0, 0)) }
        logger.warning(
            "retention deleted segments",
            metadata: [
                "segments": "\(done.segments)", "points": "\(done.points)",
                "unshipped_segments": "\(unshipped.segments)", "unshipped_points": "\(unshipped.points)",
                "older_than": "\(olderThan.map(String.init) ?? "-")",
                "max_bytes": "\(maxBytes.map(String.init) ?? "-")",
            ])
        return ((done.segments, done.points), unshipped)
    }

    /// Before a file takes the place of `old`: marked shipped if they all were (`Outbox.willReplace`).
    mutating func willReplace(_ old: [UInt64], with new: UInt64, shipped: Set<UInt64>) throws(AliceDBError) {
        guard var o = outbox else { return }
        try o.willReplace(old, with: new, shipped: shipped)
        outbox = o
    }

    /// Marks the files a rewrite made from acknowledged files only (`Outbox.markShipped`); `shipped`
    /// was taken before the rewrite.
    mutating func markShipped(_ rewritten: [(new: UInt64, old: [UInt64])], from shipped: Set<UInt64>)
        throws(AliceDBError)
    {
        guard var o = outbox else { return }
        try o.markShipped(rewritten, from: shipped, store)
        outbox = o
    }
}
