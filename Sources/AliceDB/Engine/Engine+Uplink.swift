internal import AliceFormat
internal import Logging

/// The engine's two ends of shipping segments upstream, over its segment store: the gateway's
/// `Outbox` and the receiver's `SegmentImporter`.
extension Engine {
    func requireOutbox() throws(AliceDBError) -> Outbox {
        guard let outbox else {
            throw AliceDBError(.invalidArgument, "this database was not opened as an outbox", path: path)
        }
        return outbox
    }

    /// The next segments to ship (`Outbox.batch`).
    func outbox(maxBytes: Int) throws(AliceDBError) -> OutboxBatch {
        try checkOpen()
        return try requireOutbox().batch(maxBytes: maxBytes, store, logger: logger) { id in
            let info = catalog.byID[id]
            return (info?.name ?? "series-\(id)", info?.options.bound ?? .lossless)
        }
    }

    /// Records that the receiver has stored `batch` (taken by `outbox`), durably.
    func acknowledge(_ batch: OutboxBatch) throws(AliceDBError) {
        try checkWritable()
        var o = try requireOutbox()
        try o.acknowledge(batch, store)
        outbox = o
        if !batch.isEmpty { budget.acknowledgedSinceTry = true }
    }

    /// The files whose segments are all acknowledged: taken before a rewrite, for `markShipped`.
    func shippedFiles() -> Set<UInt64> { outbox?.shippedFiles(store) ?? [] }

    /// Marks the files a rewrite made from acknowledged files only (`Outbox.markShipped`).
    func markShipped(_ rewritten: [(new: UInt64, old: [UInt64])], from shipped: Set<UInt64>) throws(AliceDBError) {
        guard var o = outbox else { return }
        try o.markShipped(rewritten, from: shipped, store)
        outbox = o
    }

    /// What waits in the outbox (a reader loads the cursor each time).
    func uplinkLag() throws(AliceDBError) -> UplinkLag {
        try checkOpen()
        if options.readOnly { outbox = try UplinkState.load(dir: path).map { Outbox(state: $0, dir: path) } }
        return try outbox?.lag(store) ?? UplinkLag()
    }

    /// Stores a batch received from a gateway (`SegmentImporter`); a series met for the first time
    /// is created with the bound the batch gives.
    func importSegments(_ batch: SegmentBatch) throws(AliceDBError) -> ImportReport {
        try checkWritable()
        var created = false
        for e in batch.entries where catalog.byName[e.series] == nil {
            guard (try? SeriesName.validate(e.series)) != nil else { continue }
            _ = catalog.upsert(e.series, options: SeriesOptions(bound: e.bound))
            created = true
        }
        if created { try catalog.save() }
        let (report, stored) = try SegmentImporter(store: store).importBatch(batch) { catalog.byName[$0]?.id }
        for (s, segments) in stored {
            counters.segments += segments.count
            counters.segmentBytes += segments.reduce(0) { $0 + $1.bytes.count }
            highWater[s] = max(highWater[s] ?? .min, segments.map(\.header.lastTimestamp).max() ?? .min)
        }
        return report
    }
}
