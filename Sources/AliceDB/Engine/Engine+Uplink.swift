internal import AliceFormat

/// The engine's two ends of shipping segments upstream, over its segment store: the gateway's
/// `Outbox` (kept by `SegmentUpkeep`) and the receiver's `SegmentImporter`.
extension Engine {
    /// The next segments to ship (`Outbox.batch`).
    func outbox(maxBytes: Int) throws(AliceDBError) -> OutboxBatch {
        try checkOpen()
        return try upkeep.requireOutbox().batch(maxBytes: maxBytes, store, logger: logger) { id in
            let info = catalog.byID[id]
            return (info?.name ?? "series-\(id)", info?.options.bound ?? .lossless)
        }
    }

    /// Records that the receiver has stored `batch` (taken by `outbox`), durably.
    func acknowledge(_ batch: OutboxBatch) throws(AliceDBError) {
        try checkWritable()
        try upkeep.acknowledge(batch)
        if !batch.isEmpty { budget.noteAcknowledged() }
    }

    /// What waits in the outbox (a reader loads the cursor each time).
    func uplinkLag() throws(AliceDBError) -> UplinkLag {
        try checkOpen()
        return try upkeep.lag(reload: options.readOnly)
    }

    /// Stores a batch received from a gateway (`SegmentImporter`); a series met for the first time
    /// is created with the bound the batch gives.
    func importSegments(_ batch: SegmentBatch) throws(AliceDBError) -> ImportReport {
        try checkWritable()
        var created = false
        for e in batch.entries where catalog.byName[e.series] == nil {
            guard (try? SeriesName.validate(e.series)) != nil else { continue }
            _ = writes.catalog.upsert(e.series, options: SeriesOptions(bound: e.bound))
            created = true
        }
        if created { try catalog.save() }
        let (report, stored) = try SegmentImporter(store: store).importBatch(batch) { catalog.byName[$0]?.id }
        for (s, segments) in stored {
            writes.counters.segments += segments.count
            writes.counters.segmentBytes += segments.reduce(0) { $0 + $1.bytes.count }
            writes.highWater[s] = max(writes.highWater[s] ?? .min, segments.map(\.header.lastTimestamp).max() ?? .min)
        }
        return report
    }
}
