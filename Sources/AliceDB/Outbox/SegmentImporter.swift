internal import AliceFormat

/// What the import of received segments needs of a segment store: to find a segment already there,
/// and to append and sync. `SegmentStore` is one.
protocol SegmentImportStore {
    func refs(_ series: UInt32, from: Int64, to: Int64) throws(AliceDBError) -> (refs: [SegmentRef], overlapping: Bool)
    func rawBytes(_ ref: SegmentRef) throws(AliceDBError) -> [UInt8]
    func flushed(_ s: UInt32) -> WALPosition
    func append(series: UInt32, position: WALPosition, segments: [EncodedSegment]) throws(AliceDBError)
    func sync() throws(AliceDBError)
}

extension SegmentStore: SegmentImportStore {}

/// Stores the segments of a batch received from a gateway (the cloud node's ingest, `import` of
/// segments): each is decoded and checked against its own header and bound (a bad one is refused
/// with the reason, the others still stored), skipped if the same series already holds a segment
/// with the same content (so a batch sent twice is stored once), re-labelled with the receiving
/// database's id for its series and appended as sent — no re-fitting. Durable (synced) when done.
struct SegmentImporter {
    let store: any SegmentImportStore

    /// - Parameter ids: the receiving database's id for a series name (nil: refused).
    /// - Returns: what was done, and the segments appended per series.
    func importBatch(_ batch: SegmentBatch, ids: (String) -> UInt32?) throws(AliceDBError)
        -> (report: ImportReport, stored: [(series: UInt32, segments: [EncodedSegment])])
    {
        var report = ImportReport()
        var pending = [UInt32: [EncodedSegment]]()
        var order = [UInt32]()
        for (i, e) in batch.entries.enumerated() {
            guard let id = ids(e.series) else {
                report.rejected.append((i, "series name must be 1–1024 bytes of printable UTF-8"))
                continue
            }
            let received: ReceivedSegment
            do { received = try ReceivedSegment(checking: e.segment, seriesID: id) } catch {
                report.rejected.append((i, error.message))
                continue
            }
            let (h, bytes) = (received.header, received.bytes)
            if try isStored(id, bytes) || pending[id, default: []].contains(where: { $0.bytes == bytes }) {
                report.duplicates += 1
                continue
            }
            if pending[id] == nil { order.append(id) }
            pending[id, default: []].append(EncodedSegment(header: h, bytes: bytes))
            report.stored += 1
            report.points += h.count
        }
        var stored = [(series: UInt32, segments: [EncodedSegment])]()
        for s in order {
            let segments = pending[s] ?? []
            try store.append(series: s, position: store.flushed(s), segments: segments)
            stored.append((s, segments))
        }
        try store.sync()
        return (report, stored)
    }

    /// Whether `series` already holds exactly this segment (same bytes once labelled alike).
    private func isStored(_ series: UInt32, _ bytes: [UInt8]) throws(AliceDBError) -> Bool {
        let parsed = bytes.withUnsafeBytes { raw in Result { () throws(DecodeError) in try SegmentFormat.header(raw).0 }
        }
        guard case .success(let h) = parsed else { return false }
        for r in try store.refs(series, from: h.firstTimestamp, to: h.firstTimestamp).refs
        where r.firstTimestamp == h.firstTimestamp && r.lastTimestamp == h.lastTimestamp && r.count == h.count
            && r.kind == h.kind && r.length == bytes.count
        {
            if try store.rawBytes(r) == bytes { return true }
        }
        return false
    }
}
