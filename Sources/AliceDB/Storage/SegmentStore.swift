internal import AliceFormat
internal import Logging
internal import SystemPackage

/// The segment files of a data directory and the index over them.
///
/// Memory does not grow with the number of segments: per series the store keeps totals, per file a
/// few facts, and segment refs only for the file being written (sealed after `maxActiveRefs`
/// segments). A sealed file ends with an index footer that queries read per (file, series).
///
/// Opening is `SegmentLoader`'s and reading in SegmentStore+Read; files are read through
/// `SegmentFileReader` and rewritten (compaction, retention) by `SegmentRewriter`. The state below is
/// module-internal and owned by the engine's lock.
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
    package var totals: [UInt32: SeriesTotals] = [:]
    /// Every live segment file.
    var facts: [UInt64: FileFacts] = [:]
    /// The keys of `facts`, oldest first.
    var fileIDs: [UInt64] = []
    /// The highest file number in the directory, readable or not: new files go after it.
    var highestID: UInt64 = 0
    /// Refs of files without a footer, by file and series: the file being written, and for a
    /// reader any file a live writer has not sealed yet.
    var loose: [UInt64: [UInt32: [SegmentRef]]] = [:]
    var looseFlushed: [UInt64: [UInt32: WALPosition]] = [:]
    /// Per file without a footer and series: the summary its footer entry will carry.
    var looseSummary: [UInt64: [UInt32: SegmentSummary]] = [:]
    /// Where each file's frames start (after its header).
    var dataStart: [UInt64: Int] = [:]
    var fds: [UInt64: FileDescriptor] = [:]
    /// The file this writer appends to (nil: the next append starts a new one).
    var writing: UInt64?
    var writingDirty = false
    /// A file was created and the directory's sync failed: its name, and so what is synced into
    /// it, is not durable yet; `sync` and `seal` try the directory again first.
    var directoryDirty = false
    /// How much of the file being written is synced (what the uplink may ship).
    var writingDurable = 0
    package var corruptFrames = 0
    /// What was found wrong while loading (file, offset, reason), for `verify`.
    package var faults: [String] = []
    /// Decoded segments, up to 2^18 points.
    var cache = BoundedCache<SegmentKey, DecodedSegment>(maxWeight: 1 << 18) { $0.values.count }
    /// Footer blocks: the refs of one series in one file, up to 16 384 refs.
    var blocks = BoundedCache<IndexBlockKey, IndexBlock>(maxWeight: 1 << 14) { max(1, $0.refs.count) }
    /// Exact summaries of whole segments (what aggregates read), up to 8 192 of them.
    var summaries = BoundedCache<SegmentKey, SegmentSummary>(maxWeight: 1 << 13) { _ in 1 }

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

    /// Reads the directory into the index (`SegmentLoader`): at open, and after a rewrite.
    func load() throws(AliceDBError) { try SegmentLoader(store: self).load() }

    /// Forgets the index, the caches and every descriptor, before a load.
    func forgetIndex() {
        closeFiles()
        totals = [:]
        facts = [:]
        fileIDs = []
        loose = [:]
        looseFlushed = [:]
        looseSummary = [:]
        dataStart = [:]
        faults = []
        writing = nil
        cache.removeAll()
        blocks.removeAll()
        summaries.removeAll()
    }

    /// Closes file `n`'s descriptor, if it is open.
    func closeFile(_ n: UInt64) {
        if let fd = fds.removeValue(forKey: n) { FileIO.close(fd) }
    }

    /// Takes a file the loader read into the index: its facts, and its refs and flush positions into
    /// the series' totals. `loose`: a file without a footer, whose refs stay in memory until sealed.
    func adopt(
        _ n: UInt64, _ f: FileFacts, refs: some Sequence<(UInt32, SegmentRef)>,
        flushed: some Sequence<(UInt32, WALPosition)>,
        loose: (refs: [UInt32: [SegmentRef]], flushed: [UInt32: WALPosition], summaries: [UInt32: SegmentSummary])?
    ) {
        for (s, r) in refs { totals[s, default: SeriesTotals()].add(r) }
        for (s, position) in flushed {
            totals[s, default: SeriesTotals()].flushed = max(totals[s]?.flushed ?? .start, position)
        }
        facts[n] = f
        fileIDs.append(n)
        if let loose {
            self.loose[n] = loose.refs
            looseFlushed[n] = loose.flushed
            looseSummary[n] = loose.summaries
        }
    }

    // MARK: Writing

    private func ensureWriting() throws(AliceDBError) -> (UInt64, FileDescriptor) {
        if let n = writing, let fd = fds[n], (facts[n]?.size ?? 0) < SegmentStore.maxFileBytes { return (n, fd) }
        if let n = writing { try seal(n) }
        let n = highestID + 1
        let p = path(n)
        let fd = try FileIO.open(p, write: true, create: true, truncate: true)
        let header = SegmentFile.encodeHeader(.init(id: n, replaces: []))
        do {
            try FileIO.writeAll(fd, header, path: p)
        } catch {
            // A full disk: no file with half a header is left behind.
            FileIO.close(fd)
            try? FileIO.remove(p)
            throw error
        }
        highestID = n
        if let old = fds.updateValue(fd, forKey: n) { FileIO.close(old) }
        facts[n] = FileFacts(size: header.count)
        fileIDs.append(n)
        dataStart[n] = header.count
        loose[n] = [:]
        looseFlushed[n] = [:]
        looseSummary[n] = [:]
        writing = n
        writingDurable = header.count
        directoryDirty = true
        try syncDirectoryIfDirty()
        return (n, fd)
    }

    private func syncDirectoryIfDirty() throws(AliceDBError) {
        guard directoryDirty else { return }
        try FileIO.syncDirectory(dir)
        directoryDirty = false
    }

    /// Appends one flush of one series as a frame.
    func append(series: UInt32, position: WALPosition, segments: [EncodedSegment]) throws(AliceDBError) {
        precondition(!readOnly)
        let (frame, offsets) = SegmentFile.encodeFrame(
            series: series, position: position, segments: segments.map(\.bytes))
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
        var summary = looseSummary[n]![series] ?? .empty
        for (s, o) in zip(segments, offsets) {
            summary.merge(s.header.summary)
            let ref = SegmentRef(file: n, offset: start + o, length: s.bytes.count, header: s.header, lsn: position.lsn)
            loose[n]![series, default: []].append(ref)
            facts[n]!.add(ref)
            t.add(ref)
        }
        t.flushed = max(t.flushed, position)
        totals[series] = t
        looseSummary[n]![series] = summary
        if looseFlushed[n]![series] == nil { facts[n]!.series += 1 }
        looseFlushed[n]![series] = max(looseFlushed[n]![series] ?? .start, position)
        if facts[n]!.refs >= SegmentStore.maxActiveRefs {
            // The frame is stored: a footer that cannot be written now (a full disk) is tried again
            // at the next append, rather than failing a flush whose points are already on disk.
            do { try seal(n) } catch {
                logger.warning("sealing a segment file failed; retried later", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Writes the index footer of a file whose refs are in memory, and forgets those refs.
    func seal(_ n: UInt64) throws(AliceDBError) {
        guard !readOnly, let refs = loose[n], let f = facts[n], f.footer == nil else { return }
        let p = path(n)
        let footer = IndexFooter.encode(
            footerStart: f.size, refs: refs, summaries: looseSummary[n] ?? [:], flushed: looseFlushed[n] ?? [:])
        let fd = try FileIO.open(p, write: true)
        defer { FileIO.close(fd) }
        FileIO.seekToEnd(fd)
        do {
            try FileIO.writeAll(fd, footer, path: p)
            try FileIO.sync(fd, path: p)
            try syncDirectoryIfDirty()
        } catch {
            // A full disk: the file goes on without a footer, as before (frames are appended after f.size).
            try? FileIO.truncate(fd, to: f.size, path: p)
            throw error
        }
        facts[n]!.footer = f.size
        facts[n]!.size = f.size + footer.count
        loose[n] = nil
        looseFlushed[n] = nil
        looseSummary[n] = nil
        if writing == n {
            writing = nil
            writingDirty = false
        }
    }

    func sync() throws(AliceDBError) {
        try syncDirectoryIfDirty()
        if writingDirty, let n = writing, let fd = fds[n] {
            try FileIO.sync(fd, path: path(n))
            writingDirty = false
        }
        if let n = writing, !writingDirty { writingDurable = facts[n]?.size ?? 0 }
    }

    /// Where the frames of file `n` that are on disk for good end.
    func shippableEnd(_ n: UInt64) -> Int {
        guard let f = facts[n] else { return 0 }
        if let footer = f.footer { return footer }
        return n == writing ? writingDurable : f.size
    }

    /// Closes every descriptor without sealing or syncing (a database dropped without `close()`:
    /// the next open scans the unsealed file).
    func closeFiles() {
        for fd in fds.values { FileIO.close(fd) }
        fds = [:]
    }

    func close() throws(AliceDBError) {
        if !readOnly, let n = writing { try seal(n) }
        if !readOnly { try sync() }
        closeFiles()
        cache.removeAll()
        blocks.removeAll()
        summaries.removeAll()
    }

    /// Forgets cached reads (after files were replaced).
    func dropCaches() {
        for (n, fd) in fds where n != writing { FileIO.close(fd) }
        fds = fds.filter { $0.key == writing }
        cache.removeAll()
        blocks.removeAll()
        summaries.removeAll()
    }
}
