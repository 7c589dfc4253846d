/// Segments on their way from a gateway to a cloud node: the body of `POST /v1/segments`.
///
/// `"ALUB", u8 version (1), 3 reserved, varint n, n × entry, u32 crc32c(everything before)`;
/// entry: `varint name length, name (UTF-8), f64 absolute bound, f64 relative bound (percent),
/// varint segment length, segment` (the stored segment format, unchanged: its series id is the
/// gateway's and is ignored by the receiver, which files it under the name). Decoding untrusted
/// bytes returns an error, never traps, and allocates at most what the body holds.
public struct SegmentBatch: Sendable, Equatable {
    /// The largest segment a batch may carry (a segment file's frame holds no more).
    package static let maxSegmentBytes = 64 << 20

    public struct Entry: Sendable, Equatable {
        public var series: String
        public var bound: ErrorBound
        public var segment: [UInt8]

        public init(series: String, bound: ErrorBound, segment: [UInt8]) {
            self.series = series
            self.bound = bound
            self.segment = segment
        }
    }

    public static let magic: [UInt8] = Array("ALUB".utf8)
    public static let version: UInt8 = 1
    /// A batch names at most this many segments.
    public static let maxEntries = 1 << 20

    public var entries: [Entry]

    public init(entries: [Entry] = []) { self.entries = entries }

    /// Bytes this entry adds to an encoded batch (near enough for batching by size).
    public static func encodedSize(_ e: Entry) -> Int { encodedSize(series: e.series, segmentBytes: e.segment.count) }

    /// Bytes an entry of `series` and a segment of `segmentBytes` adds to an encoded batch.
    public static func encodedSize(series: String, segmentBytes: Int) -> Int { series.utf8.count + segmentBytes + 26 }

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 16 + entries.reduce(0) { $0 + Self.encodedSize($1) })
        Self.writeHead(&w)
        w.varint(UInt64(entries.count))
        for e in entries {
            e.segment.withUnsafeBytes { Self.writeEntry(&w, series: e.series, bound: e.bound, segment: $0) }
        }
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// The magic, the version and the reserved bytes.
    static func writeHead(_ w: inout ByteWriter) {
        w.append(magic)
        w.u8(version)
        w.append([0, 0, 0])
    }

    /// One entry: the name, the bound, the segment.
    static func writeEntry(_ w: inout ByteWriter, series: String, bound: ErrorBound, segment: UnsafeRawBufferPointer) {
        w.varint(UInt64(series.utf8.count))
        w.bytes.append(contentsOf: series.utf8)
        w.f64(bound.absolute)
        w.f64(bound.relativePercent)
        w.varint(UInt64(segment.count))
        w.bytes.append(contentsOf: segment)
    }

    /// Parses a batch from untrusted bytes.
    /// - Throws: `AliceDBError` with code `.badInput`, saying what is wrong and at which byte.
    public static func decode(_ bytes: [UInt8]) throws(AliceDBError) -> SegmentBatch {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(DecodeError) in try decode(raw) } }
        switch result {
        case .success(let b): return b
        case .failure(let e): throw AliceDBError(.badInput, "segment batch: \(e.message)", offset: e.offset, cause: e)
        }
    }

    package static func decode(_ raw: UnsafeRawBufferPointer) throws(DecodeError) -> SegmentBatch {
        guard raw.count >= 13 else { throw DecodeError("batch too short (\(raw.count) bytes)", offset: 0) }
        for i in 0..<4 where raw[i] != magic[i] { throw DecodeError("not a segment batch (bad magic)", offset: i) }
        guard raw[4] == version else { throw DecodeError("unsupported batch version \(raw[4])", offset: 4) }
        let stored = raw.loadUnaligned(fromByteOffset: raw.count - 4, as: UInt32.self).littleEndian
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 4)])) == stored else {
            throw DecodeError("batch checksum mismatch (truncated or damaged body)", offset: raw.count - 4)
        }
        var r = ByteReader(raw, from: 8, to: raw.count - 4)
        let n = try r.count("entry count", limit: min(maxEntries, r.remaining))
        var entries = [Entry]()
        entries.reserveCapacity(n)
        for i in 0..<n {
            let nameLength = try r.count("series name length", limit: 1024)
            let nameStart = try r.skip(nameLength, "series name")
            guard
                let name = String(
                    validating: UnsafeRawBufferPointer(rebasing: raw[nameStart..<(nameStart + nameLength)]),
                    as: UTF8.self),
                !name.isEmpty
            else { throw DecodeError("entry \(i): series name is not UTF-8 text", offset: nameStart) }
            let absolute = try r.f64("absolute bound")
            let relative = try r.f64("relative bound")
            guard absolute.isFinite, absolute >= 0, relative.isFinite, relative >= 0 else {
                throw DecodeError("entry \(i): bound must be finite and ≥ 0", offset: r.offset)
            }
            let length = try r.count("segment length", limit: SegmentBatch.maxSegmentBytes)
            let start = try r.skip(length, "segment")
            entries.append(
                Entry(
                    series: name, bound: ErrorBound(absolute: absolute, relativePercent: relative),
                    segment: Array(UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)]))))
        }
        guard r.remaining == 0 else {
            throw DecodeError("\(r.remaining) stray bytes after the entries", offset: r.offset)
        }
        return SegmentBatch(entries: entries)
    }
}

/// What a receiver did with a batch, entry by entry.
public struct ImportReport: Sendable, Equatable {
    /// Segments stored now.
    public var stored = 0
    /// Segments already stored before (same series, same content): not stored again.
    public var duplicates = 0
    /// Points in the stored segments.
    public var points = 0
    /// Entries refused: their index in the batch and why. The others were still stored.
    public var rejected: [(index: Int, reason: String)] = []

    public init() {}

    public static func == (a: ImportReport, b: ImportReport) -> Bool {
        a.stored == b.stored && a.duplicates == b.duplicates && a.points == b.points
            && a.rejected.map(\.index) == b.rejected.map(\.index)
            && a.rejected.map(\.reason) == b.rejected.map(\.reason)
    }
}
