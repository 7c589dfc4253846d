internal import AliceFormat
internal import Logging

/// What the outbox reads of the segment files: which there are, how far each may be shipped, and
/// their frames. `SegmentStore` is one.
protocol OutboxFiles {
    var fileIDs: [UInt64] { get }
    var facts: [UInt64: FileFacts] { get }
    var dataStart: [UInt64: Int] { get }
    func path(_ n: UInt64) -> String
    func shippableEnd(_ n: UInt64) -> Int
    func file(_ n: UInt64) throws(AliceDBError) -> SegmentFileReader
    func forEachRef(in n: UInt64, _ body: (UInt32, SegmentRef) throws(AliceDBError) -> Void) throws(AliceDBError)
}

extension SegmentStore: OutboxFiles {}

/// A gateway's segment files as an outbox: the persisted cursor (`uplink.json`) and what it says of
/// each file — what to ship next, what is acknowledged, what compaction may merge.
struct Outbox {
    var state: UplinkState
    /// The data directory `uplink.json` lives in.
    let dir: String

    /// Whether every segment of file `n` is acknowledged.
    func fullyShipped(_ n: UInt64, _ files: some OutboxFiles) -> Bool {
        if state.isAcknowledged(file: n) { return true }
        // The cursor's own file, sealed and shipped to its end.
        guard n == state.cursor.file, let footer = files.facts[n]?.footer else { return false }
        return state.cursor.offset >= footer
    }

    /// The next segments to ship, from the cursor on, up to about `maxBytes` (at least one frame if
    /// any), and the cursor after them. Only frames on disk for good are shipped: those of sealed
    /// files, and of the file being written up to its last sync — a segment shipped and then lost
    /// in a crash would come back re-fitted from the WAL, differently cut, and be stored twice.
    /// - Parameter describe: a series id's name and bound.
    func batch(
        maxBytes: Int, _ files: some OutboxFiles, logger: Logger,
        describe: (UInt32) -> (name: String, bound: ErrorBound)
    ) throws(AliceDBError) -> OutboxBatch {
        // Encoded as it is read: no array per segment, no second copy (the agent's peak memory).
        let waiting = files.fileIDs.reduce(0) { $0 + Outbox.waitingBytes(in: $1, state, files) }
        var builder = SegmentBatch.Builder(capacity: min(maxBytes, waiting) + 4096)
        var next = state.cursor
        var points = 0
        var bytes = 0
        scan: for n in files.fileIDs where n >= state.cursor.file && !state.shipped.contains(n) {
            if n > next.file { next = UplinkCursor(file: n, offset: 0) }
            let end = files.shippableEnd(n)
            var offset = max(next.offset, files.dataStart[n] ?? 0)
            while offset < end {
                switch try files.file(n).readFrame(at: offset, size: end) {
                case .success(let (frame, frameBytes)):
                    let (name, bound) = describe(frame.series)
                    let add = frame.segments.reduce(0) {
                        $0 + SegmentBatch.encodedSize(series: name, segmentBytes: $1.1)
                    }
                    if builder.count > 0 && bytes + add > maxBytes {
                        next = UplinkCursor(file: n, offset: offset)
                        break scan
                    }
                    frameBytes.withUnsafeBytes { raw in
                        for (o, len) in frame.segments {
                            let segment = UnsafeRawBufferPointer(rebasing: raw[(o - offset)..<(o - offset + len)])
                            points += (try? SegmentFormat.header(segment).0.count) ?? 0
                            builder.append(series: name, bound: bound, segment: segment)
                        }
                    }
                    bytes += add
                    offset = frame.end
                case .failure(let e):
                    // Corrupt on disk (opening logged it and verify names it): what follows still goes.
                    let resumed = try files.file(n).resync(after: offset, size: end) ?? end
                    logger.error(
                        "uplink skips a corrupt frame",
                        metadata: ["file": "\(files.path(n))", "offset": "\(offset)", "reason": "\(e)"])
                    offset = resumed
                }
            }
            next = UplinkCursor(file: n, offset: end)
        }
        let segments = builder.count
        let features = builder.features
        return OutboxBatch(
            body: builder.finish(), segments: segments, features: features, next: next, points: points, bytes: bytes)
    }

    /// Records that the receiver has stored `batch`: the cursor moves past it, durably, before this returns.
    mutating func acknowledge(_ batch: OutboxBatch, _ files: some OutboxFiles) throws(AliceDBError) {
        var s = state
        let now = FileIO.wallMillis()
        let moved = batch.next != s.cursor || !batch.isEmpty
        if moved {
            s.cursor = batch.next
            s.shipped.removeAll { $0 < batch.next.file || files.facts[$0] == nil }
            s.acknowledgedSegments += batch.segments
            s.acknowledgedPoints += batch.points
            s.acknowledgedBytes += batch.bytes
            s.lastAcknowledgedMillis = now
        }
        if files.fileIDs.allSatisfy({ Outbox.waitingBytes(in: $0, s, files) == 0 }) { s.caughtUpMillis = now }
        // An empty poll changes only the time caught up: kept in memory, so an idle gateway does
        // not rewrite the file on its SD card every interval.
        if moved { try s.save(dir: dir) }
        state = s
    }

    /// The files whose segments are all acknowledged: taken before a rewrite, for `markShipped`.
    func shippedFiles(_ files: some OutboxFiles) -> Set<UInt64> {
        Set(files.fileIDs.filter { fullyShipped($0, files) })
    }

    /// Marks file `new` shipped, durably, before it takes the place of `old` when those were all
    /// acknowledged (`shipped`, taken before the rewrite): marked only afterwards (`markShipped`),
    /// a crash between the rename and the mark shipped its segments again. A crash before the
    /// rename leaves the mark on a number with no file; the store never gives that number to a
    /// new file (the engine reserves them at open), and the next acknowledgement drops the mark.
    mutating func willReplace(_ old: [UInt64], with new: UInt64, shipped: Set<UInt64>) throws(AliceDBError) {
        guard !old.isEmpty, old.allSatisfy(shipped.contains), !state.shipped.contains(new) else { return }
        var s = state
        s.shipped.append(new)
        try s.save(dir: dir)
        state = s
    }

    /// The file numbers marked shipped: a new file must take none of them (`willReplace`).
    var reservedNumber: UInt64 { state.shipped.max() ?? 0 }

    /// Marks the files a compaction or retention rewrite made from acknowledged files only, so
    /// that their new numbers past the cursor do not ship them again.
    mutating func markShipped(
        _ rewritten: [(new: UInt64, old: [UInt64])], from shipped: Set<UInt64>, _ files: some OutboxFiles
    ) throws(AliceDBError) {
        let whole = rewritten.filter { $0.old.allSatisfy(shipped.contains) }.map(\.new)
        guard !whole.isEmpty else { return }
        var s = state
        s.shipped += whole.filter { !s.shipped.contains($0) }  // `willReplace` marked them already
        s.shipped.removeAll { files.facts[$0] == nil }
        guard s.shipped != state.shipped else { return }
        try s.save(dir: dir)
        state = s
    }

    /// What waits to be shipped.
    func lag(_ files: some OutboxFiles) throws(AliceDBError) -> UplinkLag {
        var lag = UplinkLag()
        lag.state = state
        for n in files.fileIDs where !state.isAcknowledged(file: n) {
            if n == state.cursor.file {
                let end = files.shippableEnd(n)
                try files.forEachRef(in: n) { _, r throws(AliceDBError) in
                    if r.offset >= state.cursor.offset && r.offset < end { lag.segments += 1 }
                }
            } else {
                lag.segments += files.facts[n]?.refs ?? 0
            }
            lag.bytes += Outbox.waitingBytes(in: n, state, files)
        }
        if lag.bytes > 0, let since = state.caughtUpMillis ?? state.lastAcknowledgedMillis {
            lag.seconds = max(0, Double(FileIO.wallMillis() &- since) / 1000)
        }
        return lag
    }

    /// Bytes of file `n` that wait to be shipped (0 for a file wholly acknowledged).
    static func waitingBytes(in n: UInt64, _ state: UplinkState, _ files: some OutboxFiles) -> Int {
        guard !state.isAcknowledged(file: n) else { return 0 }
        let start = n == state.cursor.file ? max(state.cursor.offset, files.dataStart[n] ?? 0) : files.dataStart[n] ?? 0
        return max(0, files.shippableEnd(n) - start)
    }
}
