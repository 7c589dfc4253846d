internal import AliceFormat

/// The on-disk layout of a segment file: a header, then CRC-framed flushes of one series each.
///
/// File header: `"ALSF", u8 version, 3 reserved, u64 file id, varint n, n × u64 ids of files this
/// one replaces (compaction), u32 crc32c`. Frame: `"ALFR", u32 body length, u32 crc32c(body),
/// body = varint series, u64 lsn, varint record points (0: the whole record), varint k, k × (varint length, segment bytes)`. A frame holds
/// everything one flush wrote for one series, so it lands whole or not at all.
package enum SegmentFile {
    static let magic: [UInt8] = Array("ALSF".utf8)
    static let frameMagic: [UInt8] = Array("ALFR".utf8)
    static let version: UInt8 = 1
    static let maxFrameBytes = SegmentBatch.maxSegmentBytes

    struct Header {
        var id: UInt64
        var replaces: [UInt64]
    }

    struct Frame {
        var series: UInt32
        var position: WALPosition
        /// (offset in file, length) of each segment.
        var segments: [(offset: Int, length: Int)]
        var end: Int
    }

    static func fileName(_ n: UInt64) -> String {
        let hex = String(n, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex + ".seg"
    }

    static func encodeHeader(_ h: Header) -> [UInt8] {
        var w = ByteWriter()
        w.append(magic)
        w.u8(version)
        w.append([0, 0, 0])
        w.u64(h.id)
        w.varint(UInt64(h.replaces.count))
        for r in h.replaces { w.u64(r) }
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// A frame and where each segment starts within it.
    static func encodeFrame(series: UInt32, position: WALPosition, segments: [[UInt8]]) -> (
        bytes: [UInt8], offsets: [Int]
    ) {
        var body = ByteWriter(capacity: segments.reduce(32) { $0 + $1.count + 4 })
        body.varint(UInt64(series))
        body.u64(position.lsn)
        body.varint(position.points)
        body.varint(UInt64(segments.count))
        var offsets = [Int]()
        offsets.reserveCapacity(segments.count)
        for s in segments {
            body.varint(UInt64(s.count))
            offsets.append(12 + body.count)
            body.append(s)
        }
        var w = ByteWriter(capacity: body.count + 12)
        w.append(frameMagic)
        w.u32(UInt32(body.count))
        w.u32(CRC32C.checksum(body.bytes))
        w.append(body.bytes)
        return (w.bytes, offsets)
    }

    static func decodeHeader(_ raw: UnsafeRawBufferPointer) throws(DecodeError) -> (Header, Int) {
        var r = ByteReader(raw)
        for i in 0..<4 where try r.u8("file magic") != magic[i] { throw DecodeError("not a segment file", offset: i) }
        let v = try r.u8("version")
        guard v == version else { throw DecodeError("unsupported segment file version \(v)", offset: 4) }
        _ = try r.skip(3, "reserved")
        let id = try r.u64("file id")
        let n = try r.count("replaced count", limit: 1 << 16)
        try r.need(n * 8, "replaced ids")
        var replaces = [UInt64]()
        for _ in 0..<n { replaces.append(try r.u64()) }
        let end = r.offset
        let crc = try r.u32("header checksum")
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<end])) == crc else {
            throw DecodeError("segment file header checksum mismatch", offset: end)
        }
        return (Header(id: id, replaces: replaces), r.offset)
    }

    /// Parses the frame at `offset`; an error if it is torn or corrupt.
    static func decodeFrame(_ raw: UnsafeRawBufferPointer, at offset: Int) throws(DecodeError) -> Frame {
        var r = ByteReader(raw, from: offset)
        for i in 0..<4 where try r.u8("frame magic") != frameMagic[i] {
            throw DecodeError("bad frame magic", offset: offset)
        }
        let length = Int(try r.u32("frame length"))
        guard length <= maxFrameBytes else { throw DecodeError("frame length \(length) too large", offset: offset) }
        let crc = try r.u32("frame checksum")
        let bodyStart = try r.skip(length, "frame body")
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[bodyStart..<(bodyStart + length)])) == crc else {
            throw DecodeError("frame checksum mismatch", offset: offset)
        }
        var b = ByteReader(raw, from: bodyStart, to: bodyStart + length)
        let series = try b.count("series id", limit: Int(UInt32.max))
        let lsn = try b.u64("lsn")
        let points = try b.varint("record points")
        let k = try b.count("segment count", limit: length)
        var segments = [(offset: Int, length: Int)]()
        for _ in 0..<k {
            let len = try b.count("segment length", limit: b.remaining)
            segments.append((try b.skip(len, "segment"), len))
        }
        guard b.remaining == 0 else { throw DecodeError("stray bytes in frame", offset: b.offset) }
        return Frame(
            series: UInt32(series), position: WALPosition(lsn: lsn, points: points), segments: segments,
            end: bodyStart + length)
    }
}
