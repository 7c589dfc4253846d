/// The summary a segment carries about the *original* values it replaced: exact, so whole-segment
/// aggregates are exact even when the stored values are lossy.
public struct SegmentSummary: Sendable, Hashable {
    public var count: Int
    /// Values that are NaN; they count as points but not in sum/min/max/avg.
    public var nanCount: Int
    public var min: Double
    public var max: Double
    public var sum: Double

    public static let empty = SegmentSummary(count: 0, nanCount: 0, min: .infinity, max: -.infinity, sum: 0)

    public init(count: Int, nanCount: Int, min: Double, max: Double, sum: Double) {
        self.count = count
        self.nanCount = nanCount
        self.min = min
        self.max = max
        self.sum = sum
    }

    /// Summary of `values[range]` in order (the sum is the left-to-right Double sum).
    package init(_ values: UnsafeBufferPointer<Double>, _ range: Range<Int>) {
        self = .empty
        count = range.count
        for i in range { add(values[i]) }
    }

    @inline(__always)
    package mutating func add(_ v: Double) {
        if v.isNaN {
            nanCount += 1
            return
        }
        sum += v
        if v < min { min = v }
        if v > max { max = v }
    }

    public mutating func merge(_ other: SegmentSummary) {
        count += other.count
        nanCount += other.nanCount
        sum += other.sum
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }
}

/// The fixed part of a segment: what the index keeps in memory for every segment.
public struct SegmentHeader: Sendable, Hashable {
    public var seriesID: UInt32
    public var kind: ModelKind
    public var firstTimestamp: Int64
    public var lastTimestamp: Int64
    public var bound: ErrorBound
    public var summary: SegmentSummary
    /// Largest |stored − original| the encoder measured (0 when lossless).
    public var maxError: Double
    /// How the payloads' integer streams are coded: the format version says it (1 compact, 2 fast).
    public var profile: CodingProfile = .compact
    /// How far a stored timestamp may be from the one written (0: exact), and the farthest one the
    /// encoder measured; both from the timestamp payload (mode `snapped`), where they are written.
    public var timeTolerance: Int64 = 0
    public var maxTimeError: Int64 = 0

    public var count: Int { summary.count }
}

/// A decoded segment: its header and its points.
public struct DecodedSegment: Sendable {
    public var header: SegmentHeader
    public var timestamps: [Int64]
    public var values: [Double]
}

/// The versioned binary segment format (see docs/format.md).
package enum SegmentFormat {
    package static let magic: [UInt8] = Array("ALSG".utf8)
    package static let version: UInt8 = 1
    /// The version of segments coded under the fast profile (`TableCoder` streams, timestamp mode
    /// `tableDods`): a reader of version 1 alone refuses them by their version.
    package static let fastVersion: UInt8 = 2

    /// The format version a segment coded under `profile` is written as.
    package static func version(of profile: CodingProfile) -> UInt8 { profile == .fast ? fastVersion : version }
    /// No segment holds more points than this, so decoding allocates at most ~1 MiB.
    package static let maxPoints = 1 << 16

    /// In the model byte: the payload leaves out what the header gives (a quantised segment's grid
    /// step under an absolute bound, `QuantizedCodec.stepFromBound`).
    package static let derivedFromHeader: UInt8 = 0x80
    /// Where the model byte is: after the magic and the version.
    static let modelByteOffset = 5

    /// Whether a segment's payload leaves out what its header gives (`derivedFromHeader`); for
    /// bytes `header` accepted.
    package static func derivesFromHeader(_ raw: UnsafeRawBufferPointer) -> Bool {
        raw[modelByteOffset] & derivedFromHeader != 0
    }

    struct Flags: OptionSet {
        let rawValue: UInt8
        static let absoluteBound = Flags(rawValue: 1)
        static let relativeBound = Flags(rawValue: 2)
        static let maxError = Flags(rawValue: 4)
        /// The max error as a u16 fraction of the absolute bound (rounded up), not an f64.
        static let maxErrorFraction = Flags(rawValue: 8)
    }

    /// Steps of the bound a max error is stored in (`Flags.maxErrorFraction`).
    static let fractionSteps = 65535.0

    /// The max error as a fraction of an absolute bound: the smallest step count whose value is
    /// at least `maxError` (so what is read back is still an upper bound), `nil` where the bound is
    /// not purely absolute or no step count reaches it.
    static func maxErrorSteps(_ maxError: Double, _ bound: ErrorBound) -> UInt16? {
        let a = bound.absolute
        guard maxError > 0, bound.relativePercent == 0, a > 0, a.isFinite, maxError <= a else { return nil }
        var q = max(0, min(fractionSteps, (maxError / a * fractionSteps).rounded(.down) - 1))
        while q < fractionSteps && fromSteps(UInt16(q), a) < maxError { q += 1 }
        return fromSteps(UInt16(q), a) >= maxError ? UInt16(q) : nil
    }

    static func fromSteps(_ q: UInt16, _ absolute: Double) -> Double { absolute * Double(q) / fractionSteps }

    /// The max error a header will hold once written: `maxError`, or the fraction of the bound
    /// just above it (2 bytes instead of 8; the encoder puts this in the header it keeps).
    package static func storedMaxError(_ maxError: Double, _ bound: ErrorBound) -> Double {
        maxErrorSteps(maxError, bound).map { fromSteps($0, bound.absolute) } ?? maxError
    }

    /// Serialises a segment whose payloads are already encoded. The header's time tolerance and
    /// max time error are not written here: the timestamp payload holds them (mode `snapped`).
    /// - Parameter derived: the value payload leaves out what the header gives
    ///   (`derivedFromHeader`); only for a grid-coded segment (`codesOnBoundGrid`) under `QuantizedCodec.stepFromBound`.
    package static func encode(
        header h: SegmentHeader, timestampBytes: [UInt8], valueBytes: [UInt8], derived: Bool = false
    ) -> [UInt8] {
        precondition(!derived || (h.kind.codesOnBoundGrid && QuantizedCodec.stepFromBound(h.bound)))
        var w = ByteWriter(capacity: 64 + timestampBytes.count + valueBytes.count)
        w.append(magic)
        w.u8(version(of: h.profile))
        w.u8(h.kind.rawValue | (derived ? derivedFromHeader : 0))
        var flags: Flags = []
        if h.bound.absolute > 0 { flags.insert(.absoluteBound) }
        if h.bound.relativePercent > 0 { flags.insert(.relativeBound) }
        let steps = maxErrorSteps(h.maxError, h.bound)
        if let steps, fromSteps(steps, h.bound.absolute) == h.maxError {
            flags.insert(.maxErrorFraction)
        } else if h.maxError > 0 {
            flags.insert(.maxError)
        }
        w.u8(flags.rawValue)
        w.varint(UInt64(h.seriesID))
        w.varint(UInt64(h.summary.count))
        w.svarint(h.firstTimestamp)
        w.varint(UInt64(bitPattern: h.lastTimestamp &- h.firstTimestamp))
        if flags.contains(.absoluteBound) { w.f64(h.bound.absolute) }
        if flags.contains(.relativeBound) { w.f64(h.bound.relativePercent) }
        if flags.contains(.maxError) { w.f64(h.maxError) }
        if let steps, flags.contains(.maxErrorFraction) { w.u16(steps) }
        w.f64(h.summary.min)
        w.f64(h.summary.max)
        w.f64(h.summary.sum)
        w.varint(UInt64(h.summary.nanCount))
        w.varint(UInt64(timestampBytes.count))
        w.varint(UInt64(valueBytes.count))
        w.append(timestampBytes)
        w.append(valueBytes)
        w.u32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// Parses and checks the header; returns it with the payload offsets.
    package static func header(
        _ raw: UnsafeRawBufferPointer
    ) throws(DecodeError) -> (SegmentHeader, tsRange: Range<Int>, valueRange: Range<Int>) {
        guard raw.count >= 4 + 3 + 4 else { throw DecodeError("segment too short (\(raw.count) bytes)", offset: 0) }
        for i in 0..<4 where raw[i] != magic[i] { throw DecodeError("bad segment magic", offset: i) }
        let stored = raw.loadUnaligned(fromByteOffset: raw.count - 4, as: UInt32.self).littleEndian
        let actual = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 4)]))
        guard stored == actual else { throw DecodeError("segment CRC mismatch", offset: raw.count - 4) }
        var r = ByteReader(raw, from: 4, to: raw.count - 4)
        let version = try r.u8("version")
        guard version == SegmentFormat.version || version == fastVersion else {
            throw DecodeError("unsupported segment version \(version)", offset: 4)
        }
        let kindByte = try r.u8("model kind")
        guard let kind = ModelKind(rawValue: kindByte & ~derivedFromHeader) else {
            throw DecodeError("unknown model kind \(kindByte & ~derivedFromHeader)", offset: modelByteOffset)
        }
        let flags = Flags(rawValue: try r.u8("flags"))
        let series = try r.count("series id", limit: Int(UInt32.max))
        let count = try r.count("point count", limit: maxPoints)
        guard count > 0 else { throw DecodeError("empty segment", offset: r.offset) }
        let first = try r.svarint("first timestamp")
        let last = first &+ Int64(bitPattern: try r.varint("time span"))
        guard last >= first else { throw DecodeError("segment ends before it starts", offset: r.offset) }
        let absolute = flags.contains(.absoluteBound) ? try r.f64("absolute bound") : 0
        let relative = flags.contains(.relativeBound) ? try r.f64("relative bound") : 0
        var maxError = flags.contains(.maxError) ? try r.f64("max error") : 0
        if flags.contains(.maxErrorFraction) {
            guard !flags.contains(.maxError), relative == 0, absolute > 0, absolute.isFinite else {
                throw DecodeError("max error as a fraction of bound ±\(absolute), \(relative) %", offset: 6)
            }
            maxError = fromSteps(try r.u16("max error steps"), absolute)
        }
        if kindByte & derivedFromHeader != 0 {
            guard kind.codesOnBoundGrid,
                QuantizedCodec.stepFromBound(ErrorBound(absolute: absolute, relativePercent: relative))
            else {
                throw DecodeError(
                    "model \(kind) under bound ±\(absolute), \(relative) % cannot derive its payload from the header",
                    offset: modelByteOffset)
            }
        }
        let minV = try r.f64("min")
        let maxV = try r.f64("max")
        let sum = try r.f64("sum")
        let nans = try r.count("NaN count", limit: count)
        let tsLen = try r.count("timestamp length", limit: r.remaining)
        let valueLen = try r.count("value length", limit: r.remaining)
        let tsStart = try r.skip(tsLen, "timestamps")
        let valueStart = try r.skip(valueLen, "values")
        guard r.remaining == 0 else { throw DecodeError("\(r.remaining) stray bytes in segment", offset: r.offset) }
        let time = try TimestampCodec.bounds(raw, tsStart..<(tsStart + tsLen))
        var header = SegmentHeader(
            seriesID: UInt32(series), kind: kind, firstTimestamp: first, lastTimestamp: last,
            bound: ErrorBound(absolute: absolute, relativePercent: relative),
            summary: SegmentSummary(count: count, nanCount: nans, min: minV, max: maxV, sum: sum),
            maxError: maxError, profile: version == fastVersion ? .fast : .compact)
        (header.timeTolerance, header.maxTimeError) = time
        return (header, tsStart..<(tsStart + tsLen), valueStart..<(valueStart + valueLen))
    }

    /// Decodes a whole segment from untrusted bytes: an error, never a trap.
    package static func decode(_ raw: UnsafeRawBufferPointer) throws(DecodeError) -> DecodedSegment {
        let (h, tsRange, valueRange) = try header(raw)
        var ts = [Int64]()
        ts.reserveCapacity(h.count)
        var tr = ByteReader(raw, from: tsRange.lowerBound, to: tsRange.upperBound)
        try TimestampCodec.decode(&tr, count: h.count, first: h.firstTimestamp, into: &ts)
        guard ts.count == h.count, ts.last == h.lastTimestamp else {
            throw DecodeError("timestamps disagree with the header", offset: tsRange.lowerBound)
        }
        var values = [Double]()
        values.reserveCapacity(h.count)
        var vr = ByteReader(raw, from: valueRange.lowerBound, to: valueRange.upperBound)
        switch h.kind {
        case .constant, .linear, .polynomial, .sinusoid:
            let model = try FunctionModel.read(h.kind, &vr)
            for t in ts { values.append(model.evaluate(t &- h.firstTimestamp)) }
        case .parts:
            try SegmentParts.decode(raw, valueRange, header: h, timestamps: ts, into: &values)
        default:
            // (`header` checked that the model byte's flag is only set where the bound gives the step.)
            try CodecRegistry.decode(
                h.kind, &vr, count: h.count, stepFrom: derivesFromHeader(raw) ? h.bound : nil, into: &values)
        }
        guard values.count == h.count else { throw DecodeError("value count disagrees", offset: valueRange.lowerBound) }
        return DecodedSegment(header: h, timestamps: ts, values: values)
    }

    package static func decode(_ bytes: [UInt8]) throws(DecodeError) -> DecodedSegment {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(DecodeError) in try decode(raw) } }
        return try result.get()
    }
}
