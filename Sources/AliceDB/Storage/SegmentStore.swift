internal import Logging

/// Where one stored segment lives, with its header kept in memory for queries and stats.
package struct SegmentRef: Sendable {
    package var header: SegmentHeader
    package var file: UInt64
    package var offset: Int
    package var length: Int
    /// LSN of the flush that wrote it: orders segments of equal start time by arrival.
    package var lsn: UInt64
}

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

/// The segment files of a data directory and the in-memory index over them.
package final class SegmentStore {
    static let maxFileBytes = 64 << 20
    let dir: String
    let readOnly: Bool
    let logger: Logger
    /// Per series, sorted by (first timestamp, lsn).
    package private(set) var index: [UInt32: [SegmentRef]] = [:]
    /// Per series: whether any two of its segments overlap in time.
    private(set) var overlapping: Set<UInt32> = []
    /// Per series, the WAL position up to which its points are in segments.
    package private(set) var flushedLSN: [UInt32: WALPosition] = [:]
    private var fds: [UInt64: Int32] = [:]
    private var fileSizes: [UInt64: Int] = [:]
    private var activeFile: UInt64 = 0
    private var activeDirty = false
    package private(set) var corruptFrames = 0
    /// What was found wrong while loading (file, offset, reason), for `verify`.
    package private(set) var faults: [String] = []
    private var cache = DecodedCache(maxPoints: 1 << 18)

    init(dir: String, readOnly: Bool, logger: Logger) {
        self.dir = dir
        self.readOnly = readOnly
        self.logger = logger
    }

    func path(_ n: UInt64) -> String { dir + "/" + SegmentFile.fileName(n) }

    package var maxLSN: UInt64 { flushedLSN.values.map(\.lsn).max() ?? 0 }

    /// Reads every segment file; drops files a finished compaction replaced; truncates torn tails
    /// (read-write) and skips corrupt frames with an error log, keeping what is intact.
    func load() throws(AliceDBError) {
        if !readOnly { try FileIO.makeDirectory(dir) }
        guard FileIO.exists(dir) else { return }
        index = [:]
        flushedLSN = [:]
        faults = []
        fileSizes = [:]
        var headers = [UInt64: SegmentFile.Header]()
        var contents = [UInt64: [UInt8]]()
        for name in try FileIO.list(dir) {
            if name.hasSuffix(".tmp") {
                if !readOnly { try FileIO.remove(dir + "/" + name) }  // an unfinished compaction
                continue
            }
            guard name.hasSuffix(".seg"), let n = UInt64(name.dropLast(4), radix: 16) else { continue }
            guard let bytes = try FileIO.readFile(dir + "/" + name) else { continue }
            let parsed = bytes.withUnsafeBytes { raw in Result { () throws(DecodeError) in try SegmentFile.decodeHeader(raw) } }
            switch parsed {
            case .success((let h, _)):
                headers[n] = h
                contents[n] = bytes
            case .failure(let e):
                if bytes.count < 32 && !readOnly {
                    logger.warning("removing a segment file with a torn header", metadata: ["file": "\(dir)/\(name)"])
                    try FileIO.remove(dir + "/" + name)
                } else {
                    corruptFrames += 1
                    faults.append("\(dir)/\(name): unreadable header (\(e)); file skipped")
                    logger.error("unreadable segment file header; file skipped", metadata: ["file": "\(dir)/\(name)", "reason": "\(e)"])
                }
            }
        }
        let replaced = Set(headers.values.flatMap(\.replaces))
        for n in contents.keys.sorted() {
            if replaced.contains(n) {
                if !readOnly { try FileIO.remove(path(n)) }
                continue
            }
            try loadFile(n, contents[n]!)
        }
        for key in index.keys { sortSeries(key) }
        activeFile = (contents.keys.max() ?? 0)
    }

    private func loadFile(_ n: UInt64, _ bytes: [UInt8]) throws(AliceDBError) {
        let p = path(n)
        var validEnd = 0
        var refs = [SegmentRef]()
        var lsns = [(UInt32, WALPosition)]()
        bytes.withUnsafeBytes { raw in
            guard let (_, start) = try? SegmentFile.decodeHeader(raw) else { return }
            var offset = start
            validEnd = start
            while offset < raw.count {
                do {
                    let frame = try SegmentFile.decodeFrame(raw, at: offset)
                    for (o, len) in frame.segments {
                        do {
                            let (h, _, _) = try SegmentFormat.header(UnsafeRawBufferPointer(rebasing: raw[o..<(o + len)]))
                            refs.append(SegmentRef(header: h, file: n, offset: o, length: len, lsn: frame.position.lsn))
                        } catch {
                            corruptFrames += 1
                            faults.append("\(p): corrupt segment at byte \(o) skipped (\(error))")
                            logger.error("corrupt segment skipped", metadata: ["file": "\(p)", "offset": "\(o)", "reason": "\(error)"])
                        }
                    }
                    lsns.append((frame.series, frame.position))
                    offset = frame.end
                    validEnd = offset
                } catch {
                    if let next = SegmentFile.resync(raw, after: offset) {
                        corruptFrames += 1
                        faults.append("\(p): corrupt frame at byte \(offset) skipped, resumes at \(next) (\(error))")
                        logger.error(
                            "corrupt frame skipped; later frames are intact",
                            metadata: ["file": "\(p)", "offset": "\(offset)", "resumes": "\(next)", "reason": "\(error)"])
                        offset = next
                    } else {
                        break
                    }
                }
            }
        }
        if validEnd < bytes.count {
            if readOnly { faults.append("\(p): torn tail after byte \(validEnd) of \(bytes.count) (an interrupted flush; a writer truncates it)") }
            logger.log(
                level: readOnly ? .debug : .warning,  // a reader may catch a live writer mid-flush
                "segment file has a torn tail (an interrupted flush); \(readOnly ? "ignored" : "truncated")",
                metadata: ["file": "\(p)", "offset": "\(validEnd)", "size": "\(bytes.count)"])
            if !readOnly {
                let fd = try FileIO.open(p, write: true)
                defer { FileIO.close(fd) }
                try FileIO.truncate(fd, to: validEnd, path: p)
                try FileIO.sync(fd, path: p)
            }
        }
        fileSizes[n] = min(validEnd, bytes.count)
        for r in refs { index[r.header.seriesID, default: []].append(r) }
        for (s, l) in lsns { flushedLSN[s] = max(flushedLSN[s] ?? .start, l) }
    }

    private func sortSeries(_ s: UInt32) {
        guard var refs = index[s] else { return }
        refs.sort { ($0.header.firstTimestamp, $0.lsn, $0.offset) < ($1.header.firstTimestamp, $1.lsn, $1.offset) }
        index[s] = refs
        var overlaps = false
        var end = Int64.min
        for r in refs {
            if r.header.firstTimestamp <= end && end != Int64.min { overlaps = true }
            end = max(end, r.header.lastTimestamp)
        }
        if overlaps { overlapping.insert(s) } else { overlapping.remove(s) }
    }

    /// The newest flushed timestamp of a series (points at or before it arrive "late").
    package func highWater(_ s: UInt32) -> Int64? {
        index[s]?.reduce(Int64.min) { max($0, $1.header.lastTimestamp) }
    }

    // MARK: Writing

    private func ensureActive() throws(AliceDBError) -> Int32 {
        if let fd = fds[activeFile], activeFile != 0, (fileSizes[activeFile] ?? 0) < SegmentStore.maxFileBytes {
            return fd
        }
        if activeFile != 0, let fd = fds[activeFile], activeDirty {
            try FileIO.sync(fd, path: path(activeFile))
            activeDirty = false
        }
        activeFile += 1
        let p = path(activeFile)
        let fd = try FileIO.open(p, write: true, create: true, truncate: true)
        let header = SegmentFile.encodeHeader(.init(id: activeFile, replaces: []))
        try FileIO.writeAll(fd, header, path: p)
        fds[activeFile] = fd
        fileSizes[activeFile] = header.count
        try FileIO.syncDirectory(dir)
        return fd
    }

    /// Appends one flush of one series as a frame.
    func append(series: UInt32, position: WALPosition, segments: [EncodedSegment]) throws(AliceDBError) {
        precondition(!readOnly)
        let lsn = position.lsn
        let frame = SegmentFile.encodeFrame(series: series, position: position, segments: segments.map(\.bytes))
        let fd = try ensureActive()
        let p = path(activeFile)
        let start = fileSizes[activeFile] ?? 0
        do {
            try FileIO.writeAll(fd, frame, path: p)
        } catch {
            // Leave no partial frame behind (a full disk): cut the file back to its last whole frame.
            try? FileIO.truncate(fd, to: start, path: p)
            FileIO.seekToEnd(fd)
            throw error
        }
        fileSizes[activeFile] = start + frame.count
        activeDirty = true
        var offset = start + 12
        var w = ByteWriter()
        w.varint(UInt64(series))
        offset += w.count + 8
        w = ByteWriter()
        w.varint(position.points)
        offset += w.count
        w = ByteWriter()
        w.varint(UInt64(segments.count))
        offset += w.count
        for s in segments {
            w = ByteWriter()
            w.varint(UInt64(s.bytes.count))
            offset += w.count
            let ref = SegmentRef(header: s.header, file: activeFile, offset: offset, length: s.bytes.count, lsn: lsn)
            let last = index[series]?.last
            index[series, default: []].append(ref)
            if let last, (last.header.firstTimestamp, last.lsn) > (s.header.firstTimestamp, lsn)
                || last.header.lastTimestamp >= s.header.firstTimestamp
            {
                sortSeries(series)
            }
            offset += s.bytes.count
        }
        flushedLSN[series] = max(flushedLSN[series] ?? .start, position)
    }

    func sync() throws(AliceDBError) {
        if activeDirty, let fd = fds[activeFile] {
            try FileIO.sync(fd, path: path(activeFile))
            activeDirty = false
        }
    }

    // MARK: Reading

    private func fd(_ file: UInt64) throws(AliceDBError) -> Int32 {
        if let fd = fds[file] { return fd }
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

    /// Bytes of every file in the store.
    var totalBytes: Int { fileSizes.values.reduce(0, +) }
    var fileCount: Int { fileSizes.count }
    var files: [UInt64: Int] { fileSizes }

    func close() throws(AliceDBError) {
        if !readOnly { try sync() }
        for fd in fds.values { FileIO.close(fd) }
        fds = [:]
        cache.removeAll()
    }

    // MARK: Compaction and retention

    /// Rewrites `files` into one new file keeping the segments `keep` accepts; the new file names
    /// the old ones so a crash between rename and unlink never doubles data.
    /// - Returns: the segments and points dropped.
    @discardableResult
    func rewrite(files old: [UInt64], keep: (SegmentRef) -> Bool) throws(AliceDBError) -> (segments: Int, points: Int) {
        precondition(!readOnly)
        guard !old.isEmpty else { return (0, 0) }
        try sync()
        let oldSet = Set(old)
        // The new file goes after everything, and the active file is closed so new flushes follow it.
        let newID = (fileSizes.keys.max() ?? 0) + 1
        var bySeries = [UInt32: (position: WALPosition, segments: [SegmentRef])]()
        var dropped = (segments: 0, points: 0)
        for (s, refs) in index {
            for r in refs where oldSet.contains(r.file) {
                var entry = bySeries[s] ?? (flushedLSN[s] ?? .start, [])
                if keep(r) {
                    entry.segments.append(r)
                } else {
                    dropped.segments += 1
                    dropped.points += r.header.count
                }
                bySeries[s] = entry
            }
        }
        // Series whose frames carried only LSNs (no segments) keep their LSN too.
        // (Each series keeps its flushed WAL position, even if every segment went.)
        for (s, l) in flushedLSN where bySeries[s] == nil { bySeries[s] = (l, []) }
        let tmp = path(newID) + ".tmp"
        let fd = try FileIO.open(tmp, write: true, create: true, truncate: true)
        do {
            try FileIO.writeAll(fd, SegmentFile.encodeHeader(.init(id: newID, replaces: old.sorted())), path: tmp)
            for s in bySeries.keys.sorted() {
                let (position, refs) = bySeries[s]!
                var chunk = [[UInt8]]()
                var chunkBytes = 0
                for r in refs {
                    let b = try rawBytes(r)
                    if chunkBytes + b.count > SegmentFile.maxFrameBytes / 2 && !chunk.isEmpty {
                        try FileIO.writeAll(fd, SegmentFile.encodeFrame(series: s, position: position, segments: chunk), path: tmp)
                        chunk = []
                        chunkBytes = 0
                    }
                    chunk.append(b)
                    chunkBytes += b.count
                }
                try FileIO.writeAll(fd, SegmentFile.encodeFrame(series: s, position: position, segments: chunk), path: tmp)
            }
            try FileIO.sync(fd, path: tmp)
            FileIO.close(fd)
        } catch {
            FileIO.close(fd)
            try? FileIO.remove(tmp)
            throw error
        }
        try FileIO.rename(tmp, path(newID))
        try FileIO.syncDirectory(dir)
        for n in old {
            if let fd = fds.removeValue(forKey: n) { FileIO.close(fd) }
            try FileIO.remove(path(n))
        }
        try FileIO.syncDirectory(dir)
        for fd in fds.values { FileIO.close(fd) }
        fds = [:]
        cache.removeAll()
        try load()
        return dropped
    }

    /// Merges every segment file smaller than `smallBytes` into one.
    /// - Returns: how many files were merged.
    func compact(smallBytes: Int) throws(AliceDBError) -> Int {
        let small = fileSizes.filter { $0.value < smallBytes }.map(\.key)
        guard small.count >= 2 else { return 0 }
        try rewrite(files: small) { _ in true }
        return small.count
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
