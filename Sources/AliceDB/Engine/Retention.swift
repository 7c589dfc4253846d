internal import AliceFormat

/// Retention by age and by disk budget over a segment store. In an outbox, age spares what the
/// uplink has not shipped yet; only the disk budget deletes that (and it is counted apart), unless
/// it too is told to spare it (`RetentionPolicy.onFull = .pause`).
struct Retention {
    let store: SegmentStore
    let outbox: Outbox?

    /// Deletes segments whose newest point is older than `olderThan`, then the oldest segments
    /// until the segment files fit in `maxBytes`.
    /// - Parameter acknowledgedOnly: the budget deletes only segments the uplink acknowledged
    ///   (none without an outbox), even if the files then stay over `maxBytes`.
    /// - Returns: nil when nothing was due; else what the rewrite did and, of what it dropped,
    ///   the segments and points the uplink had not shipped.
    func run(
        olderThan: Int64?, maxBytes: Int?, acknowledgedOnly: Bool = false,
        willReplace: (UInt64, [UInt64]) throws(AliceDBError) -> Void = { _, _ in }
    ) throws(AliceDBError) -> (
        done: (segments: Int, points: Int, files: [(new: UInt64, old: [UInt64])]),
        unshipped: (segments: Int, points: Int)
    )? {
        var budgetCut: Int64? = nil
        if let maxBytes, store.totalBytes > maxBytes, !acknowledgedOnly || outbox != nil,
            let t = try retentionCutoff(toFree: store.totalBytes - maxBytes, acknowledgedOnly: acknowledgedOnly)
        {
            budgetCut = t
        }
        let ageCut = olderThan
        guard ageCut != nil || budgetCut != nil else { return nil }
        // Files with something to delete: by the budget, or by age where all of it is shipped.
        // Files with something to delete: by the budget, or by age where all of it is shipped.
        let files = store.fileIDs.filter { n in
            guard let f = store.facts[n], f.refs > 0 else { return false }
            if let b = budgetCut, f.minLast < b {
                if !acknowledgedOnly || hasAcknowledged(n, endingBefore: b) { return true }
            }
            guard let a = ageCut, f.minLast < a else { return false }
            return hasAcknowledged(n, endingBefore: a)
        }
        guard !files.isEmpty else { return nil }
        var unshipped = (segments: 0, points: 0)
        let done = try SegmentRewriter(store: store).rewrite(files: files, willReplace: willReplace) { r in
            let acked = outbox?.state.isAcknowledged(file: r.file, offset: r.offset) ?? true
            let byBudget = budgetCut.map { r.lastTimestamp < $0 && (acked || !acknowledgedOnly) } ?? false
            let byAge = ageCut.map { r.lastTimestamp < $0 } ?? false
            let drop = byBudget || (byAge && acked)
            if drop && !acked {
                unshipped.segments += 1
                unshipped.points += r.count
            }
            return !drop
        }
        return (done, unshipped)
    }

    /// Whether file `n` holds a segment ending before `t` that the uplink acknowledged (outside
    /// an outbox: any segment). A file that does not is not worth rewriting for segments that
    /// only acknowledged ones may go.
    private func hasAcknowledged(_ n: UInt64, endingBefore t: Int64) -> Bool {
        guard let outbox, !outbox.fullyShipped(n, store) else { return true }
        // The cursor's file: only if a segment in it is both old enough and shipped.
        guard n == outbox.state.cursor.file else { return false }
        var any = false
        try? store.forEachRef(in: n) { _, r throws(AliceDBError) in
            if r.lastTimestamp < t && outbox.state.isAcknowledged(file: n, offset: r.offset) { any = true }
        }
        return any
    }

    /// The smallest end time `t` such that deleting every segment that ends before `t` frees at
    /// least `excess` segment bytes (nil: nothing to free). Two passes over the index with a
    /// histogram of bytes by end time, so memory stays bounded however many segments there are.
    /// - Parameter acknowledgedOnly: count only segments the uplink acknowledged (those are the
    ///   ones that may go); when they are not enough, the cut-off takes all of them.
    func retentionCutoff(toFree excess: Int, acknowledgedOnly: Bool = false) throws(AliceDBError) -> Int64? {
        guard excess > 0 else { return nil }
        var lo = Int64.max
        var hi = Int64.min
        for f in store.facts.values where f.refs > 0 {
            lo = min(lo, f.minLast)
            hi = max(hi, f.maxLast)
        }
        guard lo <= hi else { return nil }
        let buckets = 4096
        var need = excess
        for _ in 0..<2 {
            let span = UInt64(bitPattern: hi &- lo) &+ 1
            let width =
                span == 0 ? UInt64.max / UInt64(buckets) : max(1, (span + UInt64(buckets) - 1) / UInt64(buckets))
            var bytes = [Int](repeating: 0, count: buckets)
            for n in store.fileIDs {
                try store.forEachRef(in: n) { _, r throws(AliceDBError) in
                    // Segments ending before `lo` were counted in the previous pass.
                    if r.lastTimestamp >= lo && r.lastTimestamp <= hi
                        && (!acknowledgedOnly || outbox?.state.isAcknowledged(file: n, offset: r.offset) ?? true)
                    {
                        bytes[Int(UInt64(bitPattern: r.lastTimestamp &- lo) / width)] += r.length
                    }
                }
            }
            var sum = 0
            var k = buckets - 1
            for i in 0..<buckets {
                sum += bytes[i]
                if sum >= need {
                    k = i
                    break
                }
            }
            if sum < need { return hi &+ 1 }  // everything goes
            let start = lo &+ Int64(bitPattern: UInt64(k) &* width)
            if width == 1 { return start &+ 1 }
            need -= sum - bytes[k]
            lo = start
            hi = min(hi, start &+ Int64(bitPattern: width - 1))
        }
        return hi &+ 1
    }
}
