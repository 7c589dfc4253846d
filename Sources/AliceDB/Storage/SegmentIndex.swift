internal import AliceFormat

/// Where one stored segment lives, with what queries need to pick it without reading it.
///
/// Kept small on purpose: only the active segment file's refs stay in memory; a sealed file's refs
/// live in its index footer and are read per (file, series) when a query needs them.
package struct SegmentRef: Sendable, Hashable {
    package var firstTimestamp: Int64
    package var lastTimestamp: Int64
    /// LSN of the flush that wrote it: orders segments of equal start time by arrival.
    package var lsn: UInt64
    package var offset: Int
    package var length32: UInt32
    package var count32: UInt32
    private var file32: UInt32
    package var kind: ModelKind

    /// The segment file's number (files are numbered from 1; 2^32 of them is beyond any disk).
    package var file: UInt64 {
        get { UInt64(file32) }
        set { file32 = UInt32(truncatingIfNeeded: newValue) }
    }

    package var length: Int { Int(length32) }
    package var count: Int { Int(count32) }

    package init(file: UInt64, offset: Int, length: Int, header h: SegmentHeader, lsn: UInt64) {
        self.init(
            file: file, offset: offset, length: length, first: h.firstTimestamp, last: h.lastTimestamp,
            count: h.count, kind: h.kind, lsn: lsn)
    }

    package init(
        file: UInt64, offset: Int, length: Int, first: Int64, last: Int64, count: Int, kind: ModelKind, lsn: UInt64
    ) {
        self.file32 = UInt32(truncatingIfNeeded: file)
        self.firstTimestamp = first
        self.lastTimestamp = last
        self.lsn = lsn
        self.offset = offset
        self.length32 = UInt32(truncatingIfNeeded: length)
        self.count32 = UInt32(truncatingIfNeeded: count)
        self.kind = kind
    }

    /// Query order: by start, then arrival.
    static func inOrder(_ a: SegmentRef, _ b: SegmentRef) -> Bool {
        (a.firstTimestamp, a.lsn, a.file, a.offset) < (b.firstTimestamp, b.lsn, b.file, b.offset)
    }
}

/// What the store keeps in memory per series, whatever the number of its segments.
package struct SeriesTotals: Sendable {
    package var segments = 0
    package var points = 0
    package var bytes = 0
    package var first = Int64.max
    package var last = Int64.min
    /// Points by model kind (indexed by the kind's raw value).
    package var modelPoints = [Int](repeating: 0, count: ModelKind.allCases.count)
    /// The WAL position up to which the series' points are in segments.
    package var flushed = WALPosition.start

    mutating func add(_ r: SegmentRef) {
        segments += 1
        points += r.count
        bytes += r.length
        first = min(first, r.firstTimestamp)
        last = max(last, r.lastTimestamp)
        modelPoints[Int(r.kind.rawValue)] += r.count
    }
}

/// Per-file facts the store keeps in memory (a few words per file, not per segment).
struct FileFacts {
    var size: Int
    /// Where the index footer starts; nil while the file is being written (its refs are in memory).
    var footer: Int?
    var series = 0
    var refs = 0
    var minFirst = Int64.max
    var maxLast = Int64.min
    /// The oldest segment end in the file: whether age retention has anything to do here.
    var minLast = Int64.max

    mutating func add(_ r: SegmentRef) {
        refs += 1
        minFirst = min(minFirst, r.firstTimestamp)
        maxLast = max(maxLast, r.lastTimestamp)
        minLast = min(minLast, r.lastTimestamp)
    }
}

/// The index footer a sealed segment file ends with (see docs/format.md).
///
/// `"ALIX", u32 body length, u32 crc32c(body), body, u64 footer offset, "ALIE"`. Body: `u32 n`, then
/// n directory entries of 96 bytes sorted by series (`u32 series, u32 refs, u64 block offset in body,
/// u32 block length, u32 crc32c(block), i64 min first, i64 max last, u64 flushed lsn, u64 flushed
/// points`, then the block's exact summary: `u64 points, u64 NaNs, f64 min, f64 max, f64 sum`), then the blocks: per segment `varint offset − previous end, varint length, u8 kind,
/// varint points, svarint first − previous first, varint last − first, svarint lsn − previous lsn`.
/// The footer is derived data: a file without one (or with a broken one) is scanned frame by frame.
enum IndexFooter {
    static let magic: [UInt8] = Array("ALIX".utf8)
    static let trailerMagic: [UInt8] = Array("ALIE".utf8)
    static let entryBytes = 96
    static let trailerBytes = 12

    struct Entry {
        var series: UInt32
        var refs: Int
        var blockOffset: Int
        var blockLength: Int
        var blockCRC: UInt32
        var minFirst: Int64
        var maxLast: Int64
        var flushed: WALPosition
        /// Exact summary of the original values of every segment in the block.
        var summary: SegmentSummary
    }

    /// The footer (with trailer) for refs appended at `footerStart`; `refs` sorted by offset per series.
    static func encode(
        footerStart: Int, refs: [UInt32: [SegmentRef]], summaries: [UInt32: SegmentSummary],
        flushed: [UInt32: WALPosition]
    ) -> [UInt8] {
        let series = Set(refs.keys).union(flushed.keys).sorted()
        // One buffer `w` for header, directory and blocks (the blocks, whose offsets the directory
        // names, are built beside it, then appended): a writer sealing a file of 8 192 segments
        // held the footer three times over before.
        let refCount = refs.values.reduce(0) { $0 + $1.count }
        var blocks = ByteWriter(capacity: refCount * 12)
        var w = ByteWriter(capacity: 12 + 4 + series.count * entryBytes + refCount * 16 + trailerBytes)
        w.append(magic)
        w.u32(0)  // body length and checksum, filled in below
        w.u32(0)
        w.u32(UInt32(series.count))
        let blocksStart = 4 + series.count * entryBytes  // from the body's start, after the 12-byte header
        for s in series {
            let list = refs[s] ?? []
            let start = blocks.count
            var prevEnd = 0
            var prevFirst: Int64 = 0
            var prevLSN: UInt64 = 0
            var minFirst = Int64.max
            var maxLast = Int64.min
            for r in list {
                blocks.varint(UInt64(r.offset - prevEnd))
                blocks.varint(UInt64(r.length))
                blocks.u8(r.kind.rawValue)
                blocks.varint(UInt64(r.count))
                blocks.svarint(r.firstTimestamp &- prevFirst)
                blocks.varint(UInt64(bitPattern: r.lastTimestamp &- r.firstTimestamp))
                blocks.svarint(Int64(bitPattern: r.lsn &- prevLSN))
                prevEnd = r.offset + r.length
                prevFirst = r.firstTimestamp
                prevLSN = r.lsn
                minFirst = min(minFirst, r.firstTimestamp)
                maxLast = max(maxLast, r.lastTimestamp)
            }
            let position = flushed[s] ?? .start
            w.u32(s)
            w.u32(UInt32(list.count))
            w.u64(UInt64(blocksStart + start))
            w.u32(UInt32(blocks.count - start))
            w.u32(blocks.bytes[start...].withUnsafeBytes { CRC32C.checksum($0) })
            w.u64(UInt64(bitPattern: minFirst))
            w.u64(UInt64(bitPattern: maxLast))
            w.u64(position.lsn)
            w.u64(position.points)
            let summary = summaries[s] ?? .empty
            w.u64(UInt64(summary.count))
            w.u64(UInt64(summary.nanCount))
            w.f64(summary.min)
            w.f64(summary.max)
            w.f64(summary.sum)
        }
        w.append(blocks.bytes)
        w.patchU32(UInt32(w.count - 12), at: 4)
        w.patchU32(CRC32C.checksum(w.bytes, from: 12), at: 8)
        w.u64(UInt64(footerStart))
        w.append(trailerMagic)
        return w.bytes
    }

    /// Where the footer of a file of `size` bytes starts, from its trailer (nil: no trailer).
    static func footerStart(trailer raw: UnsafeRawBufferPointer, fileSize size: Int, dataStart: Int) -> Int? {
        guard raw.count == trailerBytes else { return nil }
        for i in 0..<4 where raw[8 + i] != trailerMagic[i] { return nil }
        let start = Int(truncatingIfNeeded: raw.loadUnaligned(as: UInt64.self).littleEndian)
        guard start >= dataStart, start <= size - trailerBytes - 12 - 4 else { return nil }
        return start
    }

    /// Checks the footer's frame and returns the body's range within `raw` (the footer and trailer).
    static func body(_ raw: UnsafeRawBufferPointer) throws(DecodeError) -> Range<Int> {
        var r = ByteReader(raw)
        for i in 0..<4 where try r.u8("index magic") != magic[i] {
            throw DecodeError("bad index footer magic", offset: i)
        }
        let length = Int(try r.u32("index length"))
        guard length == raw.count - 12 - trailerBytes else {
            throw DecodeError("index footer length disagrees with the file", offset: 4)
        }
        let crc = try r.u32("index checksum")
        let body = 12..<(12 + length)
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[body])) == crc else {
            throw DecodeError("index footer checksum mismatch", offset: 8)
        }
        return body
    }

    static func entry(_ raw: UnsafeRawBufferPointer, at offset: Int) throws(DecodeError) -> Entry {
        var r = ByteReader(raw, from: offset, to: min(raw.count, offset + entryBytes))
        let series = try r.u32("series")
        let refs = Int(try r.u32("refs"))
        let blockOffset = try r.u64("block offset")
        let blockLength = Int(try r.u32("block length"))
        let crc = try r.u32("block checksum")
        let minFirst = Int64(bitPattern: try r.u64("min first"))
        let maxLast = Int64(bitPattern: try r.u64("max last"))
        let lsn = try r.u64("flushed lsn")
        let points = try r.u64("flushed points")
        let count = try r.u64("summary count")
        let nans = try r.u64("summary NaN count")
        let minV = try r.f64("summary min")
        let maxV = try r.f64("summary max")
        let sum = try r.f64("summary sum")
        guard count < UInt64(Int32.max), nans <= count else {
            throw DecodeError("index summary out of range", offset: offset)
        }
        guard blockOffset < UInt64(Int32.max) else {
            throw DecodeError("index block offset out of range", offset: offset)
        }
        return Entry(
            series: series, refs: refs, blockOffset: Int(blockOffset), blockLength: blockLength, blockCRC: crc,
            minFirst: minFirst, maxLast: maxLast, flushed: WALPosition(lsn: lsn, points: points),
            summary: SegmentSummary(count: Int(count), nanCount: Int(nans), min: minV, max: maxV, sum: sum))
    }

    /// Calls `body` with every directory entry of a footer body.
    static func forEachEntry(_ body: UnsafeRawBufferPointer, _ f: (Entry) throws(DecodeError) -> Void)
        throws(DecodeError)
    {
        var r = ByteReader(body)
        let n = Int(try r.u32("index entries"))
        guard 4 + n * entryBytes <= body.count else { throw DecodeError("index claims \(n) series", offset: 0) }
        for i in 0..<n { try f(try entry(body, at: 4 + i * entryBytes)) }
    }

    /// The bytes of an entry's block within a footer body.
    static func block(_ body: UnsafeRawBufferPointer, _ e: Entry) throws(DecodeError) -> UnsafeRawBufferPointer {
        guard e.blockOffset + e.blockLength <= body.count else {
            throw DecodeError("index block runs past the footer", offset: e.blockOffset)
        }
        return UnsafeRawBufferPointer(rebasing: body[e.blockOffset..<(e.blockOffset + e.blockLength)])
    }

    /// The refs of one directory entry, from its block's bytes.
    static func refs(_ block: UnsafeRawBufferPointer, _ e: Entry, file: UInt64, dataEnd: Int) throws(DecodeError)
        -> [SegmentRef]
    {
        guard block.count == e.blockLength, CRC32C.checksum(block) == e.blockCRC else {
            throw DecodeError("index block checksum mismatch for series \(e.series)", offset: 0)
        }
        guard e.refs <= block.count else { throw DecodeError("index block claims \(e.refs) segments", offset: 0) }
        var r = ByteReader(block)
        var out = [SegmentRef]()
        out.reserveCapacity(e.refs)
        var prevEnd = 0
        var prevFirst: Int64 = 0
        var prevLSN: UInt64 = 0
        for _ in 0..<e.refs {
            let offset = prevEnd + (try r.count("segment offset", limit: dataEnd))
            let length = try r.count("segment length", limit: dataEnd)
            guard offset + length <= dataEnd else {
                throw DecodeError("index names a segment past the data", offset: r.offset)
            }
            let kindByte = try r.u8("model kind")
            guard let kind = ModelKind(rawValue: kindByte) else {
                throw DecodeError("unknown model kind \(kindByte)", offset: r.offset)
            }
            let count = try r.count("points", limit: SegmentFormat.maxPoints)
            let first = prevFirst &+ (try r.svarint("first timestamp"))
            let last = first &+ Int64(bitPattern: try r.varint("time span"))
            let lsn = prevLSN &+ UInt64(bitPattern: try r.svarint("lsn"))
            out.append(
                SegmentRef(
                    file: file, offset: offset, length: length, first: first, last: last, count: count, kind: kind,
                    lsn: lsn))
            prevEnd = offset + length
            prevFirst = first
            prevLSN = lsn
        }
        guard r.remaining == 0 else { throw DecodeError("stray bytes in index block", offset: r.offset) }
        return out
    }
}

/// One series' part of a sealed file's index: its refs and what the directory says of them.
struct IndexBlock {
    var refs: [SegmentRef]
    var minFirst: Int64
    var maxLast: Int64
    var summary: SegmentSummary
    /// The refs are in time order and do not overlap: a range is found by binary search.
    var disjoint: Bool

    init(refs: [SegmentRef], minFirst: Int64, maxLast: Int64, summary: SegmentSummary) {
        self.refs = refs
        self.minFirst = minFirst
        self.maxLast = maxLast
        self.summary = summary
        var ok = true
        for i in refs.indices.dropFirst() where refs[i].firstTimestamp <= refs[i - 1].lastTimestamp { ok = false }
        disjoint = ok
    }

    /// Calls `body` with every ref overlapping `[from, to]`, in block order.
    func overlapping(_ from: Int64, _ to: Int64, _ body: (SegmentRef) -> Void) {
        var i = 0
        if disjoint {
            var hi = refs.count
            while i < hi {
                let mid = (i + hi) / 2
                if refs[mid].lastTimestamp < from { i = mid + 1 } else { hi = mid }
            }
            while i < refs.count && refs[i].firstTimestamp <= to {
                body(refs[i])
                i += 1
            }
            return
        }
        for r in refs where r.lastTimestamp >= from && r.firstTimestamp <= to { body(r) }
    }
}

/// Which footer block: one series in one sealed file.
struct IndexBlockKey: Hashable {
    var file: UInt64
    var series: UInt32
}
