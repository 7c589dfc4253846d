internal import Logging
internal import AliceFormat

/// The two ends of shipping segments upstream: the gateway's outbox (its segment files, read in
/// order from a cursor) and the receiver's import (verified, deduplicated, stored as they came).
extension Engine {
    /// The next segments to ship, from the persisted cursor on, up to about `maxBytes` (at least
    /// one frame if any), and the cursor after them. Only frames on disk for good are shipped:
    /// those of sealed files, and of the file being written up to its last sync — a segment
    /// shipped and then lost in a crash would come back re-fitted from the WAL, differently cut,
    /// and be stored twice.
    func outbox(maxBytes: Int) throws(AliceDBError) -> OutboxBatch {
        try checkOpen()
        guard let state = uplink else { throw AliceDBError(.invalidArgument, "this database was not opened as an outbox", path: path) }
        var out = OutboxBatch(batch: SegmentBatch(), next: state.cursor, points: 0, bytes: 0)
        for n in store.fileIDs where n >= state.cursor.file && !state.shipped.contains(n) {
            if n > out.next.file { out.next = UplinkCursor(file: n, offset: 0) }
            let end = store.shippableEnd(n)
            var offset = max(out.next.offset, store.dataStart[n] ?? 0)
            while offset < end {
                switch try store.readFrame(n, at: offset, size: end) {
                case .success(let (frame, bytes)):
                    let info = catalog.byID[frame.series]
                    let name = info?.name ?? "series-\(frame.series)"
                    let bound = info?.options.bound ?? .lossless
                    var entries = [SegmentBatch.Entry]()
                    var points = 0
                    for (o, len) in frame.segments {
                        let segment = Array(bytes[(o - offset)..<(o - offset + len)])
                        points += segment.withUnsafeBytes { raw in (try? SegmentFormat.header(raw).0.count) ?? 0 }
                        entries.append(SegmentBatch.Entry(series: name, bound: bound, segment: segment))
                    }
                    let add = entries.reduce(0) { $0 + SegmentBatch.encodedSize($1) }
                    if !out.batch.entries.isEmpty && out.bytes + add > maxBytes {
                        out.next = UplinkCursor(file: n, offset: offset)
                        return out
                    }
                    out.batch.entries += entries
                    out.bytes += add
                    out.points += points
                    offset = frame.end
                case .failure(let e):
                    // Corrupt on disk (opening logged it and verify names it): what follows still goes.
                    let next = try store.resync(n, after: offset, size: end) ?? end
                    logger.error(
                        "uplink skips a corrupt frame", metadata: ["file": "\(store.path(n))", "offset": "\(offset)", "reason": "\(e)"])
                    offset = next
                }
            }
            out.next = UplinkCursor(file: n, offset: end)
        }
        return out
    }

    /// Records that the receiver has stored `batch` (taken by `outbox`): the cursor moves past it,
    /// durably, before this returns.
    func acknowledge(_ batch: OutboxBatch) throws(AliceDBError) {
        try checkWritable()
        guard var state = uplink else { throw AliceDBError(.invalidArgument, "this database was not opened as an outbox", path: path) }
        let now = FileIO.wallMillis()
        let moved = batch.next != state.cursor || !batch.isEmpty
        if moved {
            state.cursor = batch.next
            state.shipped.removeAll { $0 < batch.next.file || store.facts[$0] == nil }
            state.acknowledgedSegments += batch.batch.entries.count
            state.acknowledgedPoints += batch.points
            state.acknowledgedBytes += batch.bytes
            state.lastAcknowledgedMillis = now
        }
        if store.fileIDs.allSatisfy({ waitingBytes(in: $0, state) == 0 }) { state.caughtUpMillis = now }
        // An empty poll changes only the time caught up: kept in memory, so an idle gateway does
        // not rewrite the file on its SD card every interval.
        if moved { try state.save(dir: path) }
        uplink = state
    }

    /// The files whose segments are all acknowledged: taken before a rewrite, for `markShipped`.
    func shippedFiles() -> Set<UInt64> {
        guard uplink != nil else { return [] }
        return Set(store.fileIDs.filter { fullyShipped($0) })
    }

    /// Marks the files a compaction or retention rewrite made from acknowledged files only, so
    /// that their new numbers past the cursor do not ship them again.
    func markShipped(_ rewritten: [(new: UInt64, old: [UInt64])], from shipped: Set<UInt64>) throws(AliceDBError) {
        guard var s = uplink else { return }
        let whole = rewritten.filter { $0.old.allSatisfy(shipped.contains) }.map(\.new)
        guard !whole.isEmpty else { return }
        s.shipped += whole
        s.shipped.removeAll { store.facts[$0] == nil }
        try s.save(dir: path)
        uplink = s
    }

    /// What waits in the outbox.
    func uplinkLag() throws(AliceDBError) -> UplinkLag {
        try checkOpen()
        if options.readOnly { uplink = try UplinkState.load(dir: path) }
        var lag = UplinkLag()
        guard let state = uplink else { return lag }
        lag.state = state
        for n in store.fileIDs where !state.isAcknowledged(file: n) {
            if n == state.cursor.file {
                let end = store.shippableEnd(n)
                try store.forEachRef(in: n) { _, r throws(AliceDBError) in
                    if r.offset >= state.cursor.offset && r.offset < end { lag.segments += 1 }
                }
            } else {
                lag.segments += store.facts[n]?.refs ?? 0
            }
            lag.bytes += waitingBytes(in: n, state)
        }
        if lag.bytes > 0, let since = state.caughtUpMillis ?? state.lastAcknowledgedMillis {
            lag.seconds = max(0, Double(FileIO.wallMillis() &- since) / 1000)
        }
        return lag
    }

    /// Bytes of file `n` that wait to be shipped (0 for a file wholly acknowledged).
    private func waitingBytes(in n: UInt64, _ state: UplinkState) -> Int {
        guard !state.isAcknowledged(file: n) else { return 0 }
        let start = n == state.cursor.file ? max(state.cursor.offset, store.dataStart[n] ?? 0) : store.dataStart[n] ?? 0
        return max(0, store.shippableEnd(n) - start)
    }

    /// Stores the segments of a batch received from a gateway: each is decoded and checked against
    /// its own header and bound (a bad one is refused with the reason, the others still stored),
    /// skipped if the same series already holds a segment with the same content (so a batch sent
    /// twice is stored once), re-labelled with this database's id for its series (created on first
    /// sight with the bound the batch gives) and appended as sent — no re-fitting. Durable (synced)
    /// when this returns.
    func importSegments(_ batch: SegmentBatch) throws(AliceDBError) -> ImportReport {
        try checkWritable()
        var report = ImportReport()
        var created = false
        for e in batch.entries where catalog.byName[e.series] == nil {
            guard (try? SeriesName.validate(e.series)) != nil else { continue }
            _ = catalog.upsert(e.series, options: SeriesOptions(bound: e.bound))
            created = true
        }
        if created { try catalog.save() }
        var pending = [UInt32: [EncodedSegment]]()
        var order = [UInt32]()
        for (i, e) in batch.entries.enumerated() {
            guard let info = catalog.byName[e.series] else {
                report.rejected.append((i, "series name must be 1–1024 bytes of printable UTF-8"))
                continue
            }
            let received: ReceivedSegment
            do { received = try ReceivedSegment(checking: e.segment, seriesID: info.id) } catch {
                report.rejected.append((i, error.message))
                continue
            }
            let (h, bytes) = (received.header, received.bytes)
            if try isStored(info.id, bytes) || pending[info.id, default: []].contains(where: { $0.bytes == bytes }) {
                report.duplicates += 1
                continue
            }
            if pending[info.id] == nil { order.append(info.id) }
            pending[info.id, default: []].append(EncodedSegment(header: h, bytes: bytes))
            report.stored += 1
            report.points += h.count
        }
        for s in order {
            let segments = pending[s]!
            try store.append(series: s, position: store.flushed(s), segments: segments)
            counters.segments += segments.count
            counters.segmentBytes += segments.reduce(0) { $0 + $1.bytes.count }
            highWater[s] = max(highWater[s] ?? .min, segments.map(\.header.lastTimestamp).max()!)
        }
        try store.sync()
        return report
    }

    /// Whether `series` already holds exactly this segment (same bytes once labelled alike).
    private func isStored(_ series: UInt32, _ bytes: [UInt8]) throws(AliceDBError) -> Bool {
        let parsed = bytes.withUnsafeBytes { raw in Result { () throws(DecodeError) in try SegmentFormat.header(raw).0 } }
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
