internal import Logging

/// How far into the WAL a series' points are in segments: every record before `lsn`, and of the
/// record `lsn` the first `points` points (0: all of it). A big batch can span several flushes.
package struct WALPosition: Comparable, Sendable, Hashable {
    package var lsn: UInt64
    package var points: UInt64

    package static let start = WALPosition(lsn: 0, points: 0)

    package init(lsn: UInt64, points: UInt64) {
        self.lsn = lsn
        self.points = points
    }

    package static func < (a: WALPosition, b: WALPosition) -> Bool {
        (a.lsn, a.points == 0 ? UInt64.max : a.points) < (b.lsn, b.points == 0 ? UInt64.max : b.points)
    }
}

/// The segment files of a data directory and the index over them.
///
/// Memory does not grow with the number of segments: per series the store keeps totals, per file a
/// few facts, and segment refs only for the file being written (sealed after `maxActiveRefs`
/// segments). A sealed file ends with an index footer that queries read per (file, series).
package final class SegmentStore {
    static let maxFileBytes = 64 << 20
    /// Segments after which the file being written is sealed: bounds the refs held in memory.
    static let maxActiveRefs = 8192
    /// Compaction and retention write files of at most this many segments.
    static let maxMergedRefs = 4 * maxActiveRefs
    let dir: String
    let readOnly: Bool
    let logger: Logger
    /// Per series: counts, time range, flushed WAL position.
    package private(set) var totals: [UInt32: SeriesTotals] = [:]
    /// Every live segment file.
    private(set) var facts: [UInt64: FileFacts] = [:]
    /// The keys of `facts`, oldest first.
    private(set) var fileIDs: [UInt64] = []
    /// The highest file number in the directory, readable or not: new files go after it.
    private(set) var highestID: UInt64 = 0
    /// Refs of files without a footer, by file and series: the file being written, and for a
    /// reader any file a live writer has not sealed yet.
    private var loose: [UInt64: [UInt32: [SegmentRef]]] = [:]
    private var looseFlushed: [UInt64: [UInt32: WALPosition]] = [:]
    /// Where each file's frames start (after its header).
    private var dataStart: [UInt64: Int] = [:]
    private var fds: [UInt64: Int32] = [:]
    /// The file this writer appends to (nil: the next append starts a new one).
    private var writing: UInt64?
    private var writingDirty = false
    package private(set) var corruptFrames = 0
    /// What was found wrong while loading (file, offset, reason), for `verify`.
    package private(set) var faults: [String] = []
    private var cache = DecodedCache(maxPoints: 1 << 18)
    private var blocks = RefBlockCache(maxRefs: 1 << 14)

    init(dir: String, readOnly: Bool, logger: Logger) {
        self.dir = dir
        self.readOnly = readOnly
        self.logger = logger
    }

    func path(_ n: UInt64) -> String { dir + "/" + SegmentFile.fileName(n) }

    package var maxLSN: UInt64 { totals.values.map(\.flushed.lsn).max() ?? 0 }

    package func flushed(_ s: UInt32) -> WALPosition { totals[s]?.flushed ?? .start }

    /// The newest flushed timestamp of a series (points at or before it arrive "late").
    package func highWater(_ s: UInt32) -> Int64? {
        guard let t = totals[s], t.segments > 0 else { return nil }
        return t.last
    }

    package var refsInMemory: Int { loose.values.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.count } } }

    /// Bytes of every file in the store.
    var totalBytes: Int { facts.values.reduce(0) { $0 + $1.size } }
    var fileCount: Int { facts.count }

    // MARK: Loading

    /// Reads every file's index footer, or scans its frames when it has none (a writer then seals
    /// it); drops files a finished compaction replaced; truncates torn tails (read-write) and skips
    /// corrupt frames with an error log, keeping what is intact.
    func load() throws(AliceDBError) {
        if !readOnly { try FileIO.makeDirectory(dir) }
        for fd in fds.values { FileIO.close(fd) }
        fds = [:]
        totals = [:]
        facts = [:]
        fileIDs = []
        loose = [:]
        looseFlushed = [:]
        dataStart = [:]
        faults = []
        writing = nil
        cache.removeAll()
        blocks.removeAll()
        guard FileIO.exists(dir) else { return }
        var replaced = Set<UInt64>()
        var found = [UInt64]()
        for name in try FileIO.list(dir) {
            if name.hasSuffix(".tmp") {
                if !readOnly { try FileIO.remove(dir + "/" + name) }  // an unfinished compaction
                continue
            }
            guard name.hasSuffix(".seg"), let n = UInt64(name.dropLast(4), radix: 16) else { continue }
            highestID = max(highestID, n)
            guard let header = try readHeader(n) else { continue }
            dataStart[n] = header.start
            replaced.formUnion(header.replaces)
            found.append(n)
        }
        for n in found.sorted() {
            if replaced.contains(n) {
                if let fd = fds.removeValue(forKey: n) { FileIO.close(fd) }
                if !readOnly { try FileIO.remove(path(n)) }
                dataStart[n] = nil
                continue
            }
            try loadFile(n)
        }
    }

    /// The file header (nil: the file is skipped or removed, with the reason logged).
    private func readHeader(_ n: UInt64) throws(AliceDBError) -> (start: Int, replaces: [UInt64])? {
        let p = path(n)
        let fd = try fd(n)
        let size = try FileIO.size(fd, path: p)
        var failure: DecodeError? = nil
        for want in [4096, 24 + 8 * 65536 + 16] {
            let bytes = try FileIO.read(fd, offset: 0, count: min(size, want), path: p)
            let parsed = bytes.withUnsafeBytes { raw in Result { () throws(DecodeError) in try SegmentFile.decodeHeader(raw) } }
            switch parsed {
            case .success((let h, let start)): return (start, h.replaces)
            case .failure(let e): failure = e
            }
            if size <= want { break }
        }
        if let fd = fds.removeValue(forKey: n) { FileIO.close(fd) }
        if size < 32 && !readOnly {
            logger.warning("removing a segment file with a torn header", metadata: ["file": "\(p)"])
            try FileIO.remove(p)
        } else {
            corruptFrames += 1
            faults.append("\(p): unreadable header (\(failure.map { "\($0)" } ?? "?")); file skipped")
            logger.error("unreadable segment file header; file skipped", metadata: ["file": "\(p)", "reason": "\(failure.map { "\($0)" } ?? "?")"])
        }
        return nil
    }

    private func loadFile(_ n: UInt64) throws(AliceDBError) {
        let p = path(n)
        let fd = try fd(n)
        let size = try FileIO.size(fd, path: p)
        if try loadFooter(n, size: size) { return }
        var refs = [UInt32: [SegmentRef]]()
        var flushed = [UInt32: WALPosition]()
        var f = FileFacts(size: size)
        let validEnd = try scanFrames(n, size: size, reportTornTail: readOnly, faults: &faults) { series, position, segs in
            flushed[series] = max(flushed[series] ?? .start, position)
            refs[series, default: []].append(contentsOf: segs)
        }
        if validEnd < size {
            logger.log(
                level: readOnly ? .debug : .warning,  // a reader may catch a live writer mid-flush
                "segment file has a torn tail (an interrupted flush); \(readOnly ? "ignored" : "truncated")",
                metadata: ["file": "\(p)", "offset": "\(validEnd)", "size": "\(size)"])
            if !readOnly {
                let wfd = try FileIO.open(p, write: true)
                defer { FileIO.close(wfd) }
                try FileIO.truncate(wfd, to: validEnd, path: p)
                try FileIO.sync(wfd, path: p)
            }
        }
        f.size = validEnd
        for (s, list) in refs {
            for r in list {
                f.add(r)
                totals[s, default: SeriesTotals()].add(r)
            }
        }
        for (s, position) in flushed { totals[s, default: SeriesTotals()].flushed = max(totals[s]?.flushed ?? .start, position) }
        if flushed.isEmpty && !readOnly {
            // Created just before a crash and never written: nothing to keep.
            if let fd = fds.removeValue(forKey: n) { FileIO.close(fd) }
            try FileIO.remove(p)
            return
        }
        f.series = flushed.count
        facts[n] = f
        fileIDs.append(n)
        loose[n] = refs
        looseFlushed[n] = flushed
        if !readOnly { try seal(n) }
    }

    /// Takes a file's index footer into the totals; false when it has none that checks out.
    private func loadFooter(_ n: UInt64, size: Int) throws(AliceDBError) -> Bool {
        guard let start = dataStart[n], size >= start + IndexFooter.trailerBytes + 16 else { return false }
        let p = path(n)
        let fd = try fd(n)
        let trailer = try FileIO.read(fd, offset: size - IndexFooter.trailerBytes, count: IndexFooter.trailerBytes, path: p)
        guard let footer = trailer.withUnsafeBytes({ IndexFooter.footerStart(trailer: $0, fileSize: size, dataStart: start) }) else {
            return false
        }
        let bytes = try FileIO.read(fd, offset: footer, count: size - footer, path: p)
        var f = FileFacts(size: size, footer: footer)
        var seen = [(UInt32, SegmentRef)]()
        var flushed = [(UInt32, WALPosition)]()
        let parsed = bytes.withUnsafeBytes { raw in
            Result { () throws(DecodeError) in
                let body = try IndexFooter.body(raw)
                let bodyRaw = UnsafeRawBufferPointer(rebasing: raw[body])
                try IndexFooter.forEachEntry(bodyRaw) { e throws(DecodeError) in
                    flushed.append((e.series, e.flushed))
                    let block = try IndexFooter.block(bodyRaw, e)
                    for r in try IndexFooter.refs(block, e, file: n, dataEnd: footer) { seen.append((e.series, r)) }
                }
            }
        }
        if case .failure(let e) = parsed {
            logger.warning("segment file index footer unusable; scanning the file", metadata: ["file": "\(p)", "reason": "\(e)"])
            return false
        }
        for (s, r) in seen {
            f.add(r)
            totals[s, default: SeriesTotals()].add(r)
        }
        for (s, position) in flushed { totals[s, default: SeriesTotals()].flushed = max(totals[s]?.flushed ?? .start, position) }
        f.series = flushed.count
        facts[n] = f
        fileIDs.append(n)
        return true
    }

    /// Reads a file's frames one at a time from its data start, skipping corrupt ones; calls `body`
    /// with each frame's series, WAL position and segment refs.
    /// - Returns: where the last intact frame ends.
    func scanFrames(
        _ n: UInt64, size: Int, reportTornTail: Bool, faults: inout [String],
        _ body: (UInt32, WALPosition, [SegmentRef]) throws(AliceDBError) -> Void
    ) throws(AliceDBError) -> Int {
        let p = path(n)
        guard let start = dataStart[n] else { return size }
        var offset = start
        var validEnd = start
        while offset < size {
            switch try readFrame(n, at: offset, size: size) {
            case .success(let (frame, bytes)):
                var refs = [SegmentRef]()
                for (o, len) in frame.segments {
                    let parsed = bytes.withUnsafeBytes { raw in
                        Result { () throws(DecodeError) in try SegmentFormat.header(UnsafeRawBufferPointer(rebasing: raw[(o - offset)..<(o - offset + len)])) }
                    }
                    switch parsed {
                    case .success(let (h, _, _)):
                        refs.append(SegmentRef(file: n, offset: o, length: len, header: h, lsn: frame.position.lsn))
                    case .failure(let e):
                        corruptFrames += 1
                        faults.append("\(p): corrupt segment at byte \(o) skipped (\(e))")
                        logger.error("corrupt segment skipped", metadata: ["file": "\(p)", "offset": "\(o)", "reason": "\(e)"])
                    }
                }
                try body(frame.series, frame.position, refs)
                offset = frame.end
                validEnd = offset
            case .failure(let error):
                if let next = try resync(n, after: offset, size: size) {
                    corruptFrames += 1
                    faults.append("\(p): corrupt frame at byte \(offset) skipped, resumes at \(next) (\(error))")
                    logger.error(
                        "corrupt frame skipped; later frames are intact",
                        metadata: ["file": "\(p)", "offset": "\(offset)", "resumes": "\(next)", "reason": "\(error)"])
                    offset = next
                } else {
                    if reportTornTail { faults.append("\(p): torn tail after byte \(validEnd) of \(size) (an interrupted flush; a writer truncates it)") }
                    return validEnd
                }
            }
        }
        return validEnd
    }

    /// The frame at `offset` (absolute segment offsets) with its bytes, or why it is not one.
    private func readFrame(_ n: UInt64, at offset: Int, size: Int) throws(AliceDBError) -> Result<(SegmentFile.Frame, [UInt8]), DecodeError> {
        guard offset + 12 <= size else { return .failure(DecodeError("frame header cut off", offset: offset)) }
        let p = path(n)
        let head = try FileIO.read(try fd(n), offset: offset, count: 12, path: p)
        guard Array(head[0..<4]) == SegmentFile.frameMagic else { return .failure(DecodeError("bad frame magic", offset: offset)) }
        let length = Int(head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian })
        guard length <= SegmentFile.maxFrameBytes, offset + 12 + length <= size else {
            return .failure(DecodeError("frame length \(length) runs past the file", offset: offset))
        }
        let bytes = try FileIO.read(try fd(n), offset: offset, count: 12 + length, path: p)
        return bytes.withUnsafeBytes { raw in
            Result { () throws(DecodeError) in
                var f = try SegmentFile.decodeFrame(raw, at: 0)
                f.segments = f.segments.map { (offset + $0.offset, $0.length) }
                f.end += offset
                return (f, bytes)
            }
        }
    }

    /// The next offset after `offset` where an intact frame starts, if any (skips corruption).
    private func resync(_ n: UInt64, after offset: Int, size: Int) throws(AliceDBError) -> Int? {
        let window = 1 << 16
        var base = offset + 1
        while base + 12 <= size {
            let chunk = try FileIO.read(try fd(n), offset: base, count: min(window + 3, size - base), path: path(n))
            var i = 0
            while i + 4 <= chunk.count {
                if chunk[i] == SegmentFile.frameMagic[0] && chunk[i + 1] == SegmentFile.frameMagic[1]
                    && chunk[i + 2] == SegmentFile.frameMagic[2] && chunk[i + 3] == SegmentFile.frameMagic[3],
                    case .success = try readFrame(n, at: base + i, size: size)
                {
                    return base + i
                }
                i += 1
            }
            base += window
        }
        return nil
    }

    // MARK: Writing

    private func ensureWriting() throws(AliceDBError) -> (UInt64, Int32) {
        if let n = writing, let fd = fds[n], (facts[n]?.size ?? 0) < SegmentStore.maxFileBytes { return (n, fd) }
        if let n = writing { try seal(n) }
        highestID += 1
        let n = highestID
        let p = path(n)
        let fd = try FileIO.open(p, write: true, create: true, truncate: true)
        let header = SegmentFile.encodeHeader(.init(id: n, replaces: []))
        try FileIO.writeAll(fd, header, path: p)
        if let old = fds.updateValue(fd, forKey: n) { FileIO.close(old) }
        facts[n] = FileFacts(size: header.count)
        fileIDs.append(n)
        dataStart[n] = header.count
        loose[n] = [:]
        looseFlushed[n] = [:]
        writing = n
        try FileIO.syncDirectory(dir)
        return (n, fd)
    }

    /// Appends one flush of one series as a frame.
    func append(series: UInt32, position: WALPosition, segments: [EncodedSegment]) throws(AliceDBError) {
        precondition(!readOnly)
        let (frame, offsets) = SegmentFile.encodeFrame(series: series, position: position, segments: segments.map(\.bytes))
        let (n, fd) = try ensureWriting()
        let p = path(n)
        let start = facts[n]!.size
        do {
            try FileIO.writeAll(fd, frame, path: p)
        } catch {
            // Leave no partial frame behind (a full disk): cut the file back to its last whole frame.
            try? FileIO.truncate(fd, to: start, path: p)
            FileIO.seekToEnd(fd)
            throw error
        }
        facts[n]!.size = start + frame.count
        writingDirty = true
        var t = totals[series] ?? SeriesTotals()
        for (s, o) in zip(segments, offsets) {
            let ref = SegmentRef(file: n, offset: start + o, length: s.bytes.count, header: s.header, lsn: position.lsn)
            loose[n]![series, default: []].append(ref)
            facts[n]!.add(ref)
            t.add(ref)
        }
        t.flushed = max(t.flushed, position)
        totals[series] = t
        if looseFlushed[n]![series] == nil { facts[n]!.series += 1 }
        looseFlushed[n]![series] = max(looseFlushed[n]![series] ?? .start, position)
        if facts[n]!.refs >= SegmentStore.maxActiveRefs { try seal(n) }
    }

    /// Writes the index footer of a file whose refs are in memory, and forgets those refs.
    func seal(_ n: UInt64) throws(AliceDBError) {
        guard !readOnly, let refs = loose[n], let f = facts[n], f.footer == nil else { return }
        let p = path(n)
        let footer = IndexFooter.encode(footerStart: f.size, refs: refs, flushed: looseFlushed[n] ?? [:])
        let fd = try FileIO.open(p, write: true)
        defer { FileIO.close(fd) }
        FileIO.seekToEnd(fd)
        try FileIO.writeAll(fd, footer, path: p)
        try FileIO.sync(fd, path: p)
        facts[n]!.footer = f.size
        facts[n]!.size = f.size + footer.count
        loose[n] = nil
        looseFlushed[n] = nil
        if writing == n {
            writing = nil
            writingDirty = false
        }
    }

    func sync() throws(AliceDBError) {
        if writingDirty, let n = writing, let fd = fds[n] {
            try FileIO.sync(fd, path: path(n))
            writingDirty = false
        }
    }

    // MARK: Reading

    private func fd(_ file: UInt64) throws(AliceDBError) -> Int32 {
        if let fd = fds[file] { return fd }
        if fds.count >= 64 {  // keep descriptors bounded however many files there are
            for (n, fd) in fds where n != writing { FileIO.close(fd) }
            fds = fds.filter { $0.key == writing }
        }
        let fd = try FileIO.open(path(file), write: false)
        fds[file] = fd
        return fd
    }

    func rawBytes(_ ref: SegmentRef) throws(AliceDBError) -> [UInt8] {
        try FileIO.read(try fd(ref.file), offset: ref.offset, count: ref.length, path: path(ref.file))
    }

    /// The decoded points of a segment (cached).
    func decode(_ ref: SegmentRef) throws(AliceDBError) -> DecodedSegment {
        let key = DecodedCache.Key(file: ref.file, offset: ref.offset)
        if let hit = cache[key] { return hit }
        let bytes = try rawBytes(ref)
        do {
            let d = try SegmentFormat.decode(bytes)
            cache.insert(key, d)
            return d
        } catch {
            throw AliceDBError(.corrupt, "segment does not decode: \(error.message)", path: path(ref.file), offset: ref.offset + error.offset)
        }
    }

    /// The full header of a segment (its exact summary), read from the file.
    func header(_ ref: SegmentRef) throws(AliceDBError) -> SegmentHeader {
        if let hit = cache[DecodedCache.Key(file: ref.file, offset: ref.offset)] { return hit.header }
        let bytes = try rawBytes(ref)
        let parsed = bytes.withUnsafeBytes { raw in Result { () throws(DecodeError) in try SegmentFormat.header(raw).0 } }
        switch parsed {
        case .success(let h): return h
        case .failure(let e):
            throw AliceDBError(.corrupt, "segment header does not decode: \(e.message)", path: path(ref.file), offset: ref.offset + e.offset)
        }
    }

    /// The decoded segment for a query, or nil when it turns out corrupt: the query goes on
    /// without it (as a load skips a corrupt frame), the fault is logged and kept for `verify`.
    func decodeForQuery(_ ref: SegmentRef) throws(AliceDBError) -> DecodedSegment? {
        do { return try decode(ref) } catch where error.code == .corrupt {
            skipped(error)
            return nil
        }
    }

    /// The exact summary of a segment for a query, or nil when it turns out corrupt (skipped).
    func summaryForQuery(_ ref: SegmentRef) throws(AliceDBError) -> SegmentSummary? {
        do { return try header(ref).summary } catch where error.code == .corrupt {
            skipped(error)
            return nil
        }
    }

    private func skipped(_ error: AliceDBError) {
        let fault = "\(error.description) (segment skipped by queries)"
        guard !faults.contains(fault) else { return }
        corruptFrames += 1
        if faults.count < 1000 { faults.append(fault) }
        logger.error("corrupt segment skipped by a query", metadata: ["reason": "\(error)"])
    }


    /// The refs of `series` in file `n`, in the order they were written.
    func refs(of series: UInt32, in n: UInt64) throws(AliceDBError) -> [SegmentRef] {
        if let l = loose[n] { return l[series] ?? [] }
        guard let f = facts[n], let footer = f.footer else { return [] }
        let key = RefBlockCache.Key(file: n, series: series)
        if let hit = blocks[key] { return hit }
        let p = path(n)
        let fd = try fd(n)
        let bodyStart = footer + 12
        let count = Int(try FileIO.read(fd, offset: bodyStart, count: 4, path: p).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian })
        var lo = 0, hi = min(count, (f.size - bodyStart) / IndexFooter.entryBytes)
        var found: IndexFooter.Entry? = nil
        while lo < hi {
            let mid = (lo + hi) / 2
            let at = bodyStart + 4 + mid * IndexFooter.entryBytes
            let raw = try FileIO.read(fd, offset: at, count: IndexFooter.entryBytes, path: p)
            let e = try footerResult(n, at, raw.withUnsafeBytes { r in Result { () throws(DecodeError) in try IndexFooter.entry(r, at: 0) } })
            if e.series == series {
                found = e
                break
            }
            if e.series < series { lo = mid + 1 } else { hi = mid }
        }
        guard let e = found else { return [] }
        guard bodyStart + e.blockOffset + e.blockLength <= f.size else {
            throw AliceDBError(.corrupt, "index block of series \(series) runs past the file", path: p, offset: bodyStart)
        }
        let block = try FileIO.read(fd, offset: bodyStart + e.blockOffset, count: e.blockLength, path: p)
        let refs = try footerResult(
            n, bodyStart + e.blockOffset,
            block.withUnsafeBytes { r in Result { () throws(DecodeError) in try IndexFooter.refs(r, e, file: n, dataEnd: footer) } })
        blocks.insert(key, refs)
        return refs
    }

    private func footerResult<T>(_ n: UInt64, _ at: Int, _ result: Result<T, DecodeError>) throws(AliceDBError) -> T {
        switch result {
        case .success(let v): return v
        case .failure(let e): throw AliceDBError(.corrupt, "segment file index: \(e.message)", path: path(n), offset: at + e.offset)
        }
    }

    /// Segments of `series` that overlap `[from, to]`, in query order, and whether any two overlap.
    func refs(_ series: UInt32, from: Int64, to: Int64) throws(AliceDBError) -> (refs: [SegmentRef], overlapping: Bool) {
        guard let t = totals[series], t.segments > 0, t.first <= to, t.last >= from else { return ([], false) }
        var out = [SegmentRef]()
        for n in fileIDs {
            guard let f = facts[n], f.refs > 0, f.minFirst <= to, f.maxLast >= from else { continue }
            for r in try refs(of: series, in: n) where r.lastTimestamp >= from && r.firstTimestamp <= to { out.append(r) }
        }
        var sorted = true
        for i in out.indices.dropFirst() where !SegmentRef.inOrder(out[i - 1], out[i]) { sorted = false }
        if !sorted { out.sort(by: SegmentRef.inOrder) }
        var overlaps = false
        var end = Int64.min
        for (i, r) in out.enumerated() {
            if i > 0 && r.firstTimestamp <= end { overlaps = true }
            end = max(end, r.lastTimestamp)
        }
        return (out, overlaps)
    }

    /// Every ref of file `n` with its series (reads the whole footer once).
    func forEachRef(in n: UInt64, _ body: (UInt32, SegmentRef) throws(AliceDBError) -> Void) throws(AliceDBError) {
        if let l = loose[n] {
            for s in l.keys.sorted() { for r in l[s]! { try body(s, r) } }
            return
        }
        guard let f = facts[n], let footer = f.footer else { return }
        let bytes = try FileIO.read(try fd(n), offset: footer, count: f.size - footer, path: path(n))
        var all = [(UInt32, SegmentRef)]()
        all.reserveCapacity(f.refs)
        try footerResult(
            n, footer,
            bytes.withUnsafeBytes { raw in
                Result { () throws(DecodeError) in
                    let bodyRaw = UnsafeRawBufferPointer(rebasing: raw[try IndexFooter.body(raw)])
                    try IndexFooter.forEachEntry(bodyRaw) { e throws(DecodeError) in
                        for r in try IndexFooter.refs(try IndexFooter.block(bodyRaw, e), e, file: n, dataEnd: footer) { all.append((e.series, r)) }
                    }
                }
            })
        for (s, r) in all { try body(s, r) }
    }

    func close() throws(AliceDBError) {
        if !readOnly, let n = writing { try seal(n) }
        if !readOnly { try sync() }
        for fd in fds.values { FileIO.close(fd) }
        fds = [:]
        cache.removeAll()
        blocks.removeAll()
    }

    /// Forgets cached reads (after files were replaced).
    func dropCaches() {
        for (n, fd) in fds where n != writing { FileIO.close(fd) }
        fds = fds.filter { $0.key == writing }
        cache.removeAll()
        blocks.removeAll()
    }
}

/// Recently decoded segments, bounded by their total points (FIFO eviction).
struct DecodedCache {
    struct Key: Hashable {
        var file: UInt64
        var offset: Int
    }
    let maxPoints: Int
    private var entries: [Key: DecodedSegment] = [:]
    private var order: [Key] = []
    private var head = 0
    private var points = 0

    init(maxPoints: Int) { self.maxPoints = maxPoints }

    subscript(key: Key) -> DecodedSegment? { entries[key] }

    mutating func insert(_ key: Key, _ value: DecodedSegment) {
        guard entries[key] == nil else { return }
        entries[key] = value
        order.append(key)
        points += value.values.count
        while points > maxPoints && head < order.count {
            let old = order[head]
            head += 1
            if let e = entries.removeValue(forKey: old) { points -= e.values.count }
        }
        if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }

    mutating func removeAll() {
        entries = [:]
        order = []
        head = 0
        points = 0
    }
}
