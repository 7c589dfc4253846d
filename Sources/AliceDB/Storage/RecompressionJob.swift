internal import AliceFormat
internal import SystemPackage

/// One segment file re-encoded from the fast profile into the compact one (`Recompression`), in
/// steps taken outside the engine's lock: decoding and encoding a file of millions of points takes
/// seconds, which ingest must not wait for. The engine starts a job under its lock (a snapshot of
/// the file's refs and of the series' flushed positions) and swaps the finished file in under its
/// lock (`Engine.finishRecompression`), as compaction would have written it: a new file naming the
/// old one as replaced, so a crash at any point leaves either file whole.
///
/// The source is read through the job's own descriptor: if retention or compaction removes the file
/// meanwhile, the job reads on and the swap sees that its source is gone and drops the result.
///
/// `@unchecked Sendable`: one maintenance caller at a time holds a job; between steps it rests in
/// the database's pace mutex (`RecompressionPace`), which hands it over.
final class RecompressionJob: @unchecked Sendable {
    /// The file being re-encoded, and its size when the job began.
    let source: UInt64
    let sourceSize: Int
    let sourcePath: String
    /// Where the new file is written until the swap names it (the loader ignores the suffix).
    let tmpPath: String
    private let input: FileDescriptor
    private var output: FileDescriptor?
    /// Per series, the source's segments in query order; `next` is where the steps stand.
    private let work: [(series: UInt32, refs: [SegmentRef])]
    private var next = (series: 0, ref: 0)
    /// Every series' flushed WAL position, as compaction writes them.
    private let positions: [UInt32: WALPosition]
    private var size = 0
    private(set) var refs = [UInt32: [SegmentRef]]()
    private var summaries = [UInt32: SegmentSummary]()
    private var chunk = [(ref: SegmentRef, bytes: [UInt8])]()
    private var chunkBytes = 0
    /// What the steps did: segments re-encoded, kept fast (no smaller compact coding reproduces
    /// them), and the bytes of the re-encoded ones before and after.
    private(set) var recoded = 0
    private(set) var kept = 0
    private(set) var bytesBefore = 0
    private(set) var bytesAfter = 0
    /// Whether fast segments are re-encoded compact (the file is past `recompress_after`), and
    /// whether runs of a series' short segments are merged (`SegmentMerge`).
    let recompress: Bool
    let merge: Bool
    /// The run of short segments of the current series waiting to be merged.
    private var run = [(ref: SegmentRef, bytes: [UInt8], header: SegmentHeader)]()
    private var runPoints = 0
    /// Segments merged away (a run of k that became one counts k − 1), and the bytes of the runs
    /// merged, before and after.
    private(set) var mergedAway = 0
    private(set) var mergeBytesBefore = 0
    private(set) var mergeBytesAfter = 0

    /// Runs grow to at most this many points (the database's default capacity: what a flush may
    /// write, and so what a writer's memory is sized for).
    let mergeTarget: Int
    /// A segment of this many points or more is long enough: its ~90 bytes beside the payload cost
    /// ~0.01 bytes a point or less.
    static let shortBelow = 1 << 13

    /// Whether `refs` (one series' segments in a file, in query order) hold two short segments in a
    /// row, the first before the second: a run a merge would shrink.
    static func hasShortRun(_ refs: [SegmentRef], target: Int) -> Bool {
        zip(refs, refs.dropFirst()).contains { a, b in
            a.count < shortBelow && b.count < shortBelow && a.kind != .parts && b.kind != .parts
                && a.lastTimestamp < b.firstTimestamp && a.count + b.count <= target
        }
    }

    static let suffix = ".recode"

    init(
        source: UInt64, size: Int, path: String, work: [(series: UInt32, refs: [SegmentRef])],
        positions: [UInt32: WALPosition], recompress: Bool = true, merge: Bool = false,
        mergeTarget: Int = SegmentFormat.maxPoints
    ) throws(AliceDBError) {
        self.mergeTarget = mergeTarget
        self.recompress = recompress
        self.merge = merge
        self.source = source
        sourceSize = size
        sourcePath = path
        tmpPath = path + Self.suffix
        self.work = work
        self.positions = positions
        input = try FileIO.open(path, write: false)
    }

    deinit {
        FileIO.close(input)
        if let output { FileIO.close(output) }
    }

    private var fastChecked: Bool?

    /// Whether any segment of the source is coded fast (one byte read per segment, its version,
    /// the first time it is asked).
    func hasFastSegmentsOnce() throws(AliceDBError) -> Bool {
        if let fastChecked { return fastChecked }
        let found = try hasFastSegments()
        fastChecked = found
        return found
    }

    private func hasFastSegments() throws(AliceDBError) -> Bool {
        for (_, refs) in work {
            for r in refs {
                let v = try FileIO.read(input, offset: r.offset + SegmentFormat.magic.count, count: 1, path: sourcePath)
                if v[0] == SegmentFormat.fastVersion { return true }
            }
        }
        return false
    }

    /// Re-encodes segments until `deadline` (monotonic ns; at least one segment), then returns;
    /// true once the new file is complete and synced.
    func step(until deadline: UInt64) throws(AliceDBError) -> Bool {
        if output == nil {
            let fd = try FileIO.open(tmpPath, write: true, create: true, truncate: true)
            output = fd
            let header = SegmentFile.encodeHeader(.init(id: 0, replaces: [source]))
            try FileIO.writeAll(fd, header, path: tmpPath)
            size = header.count
        }
        while next.series < work.count {
            let (series, list) = work[next.series]
            while next.ref < list.count {
                try add(list[next.ref], series: series)
                next.ref += 1
                if FileIO.monotonicNanos() >= deadline && (next.ref < list.count || next.series + 1 < work.count) {
                    return false
                }
            }
            try mergeRun(series)
            try emit(series)
            next = (next.series + 1, 0)
        }
        guard let fd = output else { return false }
        try FileIO.writeAll(
            fd, IndexFooter.encode(footerStart: size, refs: refs, summaries: summaries, flushed: positions),
            path: tmpPath)
        try FileIO.sync(fd, path: tmpPath)
        return true
    }

    /// Gives the finished file its number: the header rewritten in place and synced.
    func number(_ id: UInt64) throws(AliceDBError) {
        guard let old = output else { return }
        FileIO.close(old)
        output = nil
        let fd = try FileIO.open(tmpPath, write: true)
        defer { FileIO.close(fd) }
        try FileIO.writeAll(fd, SegmentFile.encodeHeader(.init(id: id, replaces: [source])), path: tmpPath)
        try FileIO.sync(fd, path: tmpPath)
    }

    /// Drops the unfinished or unwanted file.
    func discard() {
        if let output { FileIO.close(output) }
        output = nil
        try? FileIO.remove(tmpPath)
    }

    private func add(_ ref: SegmentRef, series: UInt32) throws(AliceDBError) {
        let raw = try FileIO.read(input, offset: ref.offset, count: ref.length, path: sourcePath)
        let outcome: Result<Recompression.Outcome, DecodeError> = Result { () throws(DecodeError) in
            recompress ? try Recompression.compact(raw) : .compact
        }
        var bytes = raw
        switch outcome {
        case .success(.recoded(let b)):
            recoded += 1
            bytesBefore += raw.count
            bytesAfter += b.count
            bytes = b
        case .success(.kept): kept += 1
        case .success(.compact): break
        case .failure(let e):
            throw AliceDBError(
                .corrupt, "segment to be recompressed does not decode; nothing was rewritten", path: sourcePath,
                offset: ref.offset + e.offset, cause: e)
        }
        let parsed = bytes.withUnsafeBytes { r in Result { () throws(DecodeError) in try SegmentFormat.header(r).0 } }
        guard case .success(let header) = parsed else {
            throw AliceDBError(.corrupt, "segment header does not decode", path: sourcePath, offset: ref.offset)
        }
        var r = ref
        r.kind = header.kind  // (a grid codec's segment may come back in a lossless codec)
        guard merge, header.count < Self.shortBelow, header.kind != .parts else {
            try mergeRun(series)
            return try put(r, bytes, header, series: series)
        }
        if let last = run.last,
            runPoints + header.count > mergeTarget
                || header.firstTimestamp <= last.header.lastTimestamp
        {
            try mergeRun(series)
        }
        run.append((r, bytes, header))
        runPoints += header.count
    }

    /// The waiting run written: merged where that is smaller (`SegmentMerge`), else as it was.
    private func mergeRun(_ series: UInt32) throws(AliceDBError) {
        defer { (run, runPoints) = ([], 0) }
        if run.count >= 2, let merged = SegmentMerge.merge(run.map(\.bytes)) {
            mergedAway += run.count - merged.count
            mergeBytesBefore += run.reduce(0) { $0 + $1.bytes.count }
            mergeBytesAfter += merged.reduce(0) { $0 + $1.bytes.count }
            for s in merged {
                let r = SegmentRef(
                    file: run[0].ref.file, offset: 0, length: s.bytes.count, header: s.header, lsn: run[0].ref.lsn)
                try put(r, s.bytes, s.header, series: series)
            }
            return
        }
        for (r, bytes, header) in run { try put(r, bytes, header, series: series) }
    }

    private func put(_ r: SegmentRef, _ bytes: [UInt8], _ header: SegmentHeader, series: UInt32) throws(AliceDBError) {
        summaries[series, default: .empty].merge(header.summary)
        if chunkBytes + bytes.count > 1 << 20 { try emit(series) }
        chunk.append((r, bytes))
        chunkBytes += bytes.count
    }

    private func emit(_ series: UInt32) throws(AliceDBError) {
        guard !chunk.isEmpty, let fd = output else { return }
        let (frame, offsets) = SegmentFile.encodeFrame(
            series: series, position: positions[series] ?? .start, segments: chunk.map(\.bytes))
        try FileIO.writeAll(fd, frame, path: tmpPath)
        for (c, o) in zip(chunk, offsets) {
            var r = c.ref
            r.offset = size + o
            r.length32 = UInt32(c.bytes.count)
            refs[series, default: []].append(r)
        }
        size += frame.count
        chunk = []
        chunkBytes = 0
    }
}
