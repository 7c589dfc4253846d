/// Timestamp mode `snapped`: timestamps stored within a tolerance of the ones written (a series'
/// `timeTolerance`, `TimeSnapping`), then coded exactly as any other stored timestamps are.
///
/// Payload: `u8 11, varint tolerance T (1 ≤ T ≤ maxTolerance), varint E (0 ≤ E ≤ T: the largest
/// |stored − written| the writer measured)`, then the stored timestamps' own payload — a mode byte
/// (`single` for one point, else any but `single` and `snapped`) and what that mode holds. The
/// segment header's first and last timestamps are the stored ones.
extension TimestampCodec {
    /// The largest tolerance a segment may carry, in timestamp units (2^32 − 1 ms is 49 days).
    package static let maxTolerance: Int64 = (1 << 32) - 1

    /// The payload of stored timestamps coded as `inner` (by `encode`), stored within `tolerance`
    /// of the written ones and at most `maxError` from them.
    package static func snapped(tolerance: Int64, maxError: Int64, inner: [UInt8]) -> [UInt8] {
        precondition(tolerance >= 1 && tolerance <= maxTolerance && maxError >= 0 && maxError <= tolerance)
        precondition(inner.first.map { $0 != Mode.snapped.rawValue } ?? false)
        var w = ByteWriter(capacity: inner.count + 8)
        w.u8(Mode.snapped.rawValue)
        w.varint(UInt64(tolerance))
        w.varint(UInt64(maxError))
        w.append(inner)
        return w.bytes
    }

    /// The tolerance and the measured max error of a `snapped` payload, read after its mode byte.
    static func snappedBounds(_ r: inout ByteReader) throws(DecodeError) -> (tolerance: Int64, maxError: Int64) {
        let at = r.offset
        let t = try r.varint("time tolerance")
        let e = try r.varint("max time error")
        guard t >= 1, t <= UInt64(maxTolerance), e <= t else {
            throw DecodeError("snapped timestamps: tolerance \(t), max error \(e)", offset: at)
        }
        return (Int64(t), Int64(e))
    }

    /// The tolerance and max error a timestamp payload carries ((0, 0): exact timestamps).
    /// - Throws: `DecodeError` for a `snapped` payload whose bounds are malformed.
    package static func bounds(
        _ raw: UnsafeRawBufferPointer, _ range: Range<Int>
    ) throws(DecodeError) -> (tolerance: Int64, maxError: Int64) {
        guard !range.isEmpty, raw[range.lowerBound] == Mode.snapped.rawValue else { return (0, 0) }
        var r = ByteReader(raw, from: range.lowerBound + 1, to: range.upperBound)
        return try snappedBounds(&r)
    }

    /// The mode byte of the stored timestamps' own coding inside a `snapped` payload (nil for any
    /// other payload, or one too short to hold it).
    package static func innerMode(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> UInt8? {
        guard !range.isEmpty, raw[range.lowerBound] == Mode.snapped.rawValue else { return nil }
        var r = ByteReader(raw, from: range.lowerBound + 1, to: range.upperBound)
        guard (try? snappedBounds(&r)) != nil, r.remaining > 0 else { return nil }
        return raw[r.offset]
    }

    /// Decodes the rest of a `snapped` payload (after its mode byte): `count` timestamps from
    /// `first`, appended to `out`.
    static func decodeSnapped(
        _ r: inout ByteReader, count: Int, first: Int64, into out: inout [Int64]
    ) throws(DecodeError) {
        _ = try snappedBounds(&r)
        guard r.remaining > 0 else { throw DecodeError("snapped timestamps without their coding", offset: r.offset) }
        let inner = r.bytes[r.offset]
        guard inner != Mode.snapped.rawValue, (inner == Mode.single.rawValue) == (count == 1) else {
            throw DecodeError("snapped timestamps coded in mode \(inner) (\(count) points)", offset: r.offset)
        }
        try decode(&r, count: count, first: first, into: &out)
    }
}
