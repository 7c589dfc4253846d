/// Re-encodes a fast-profile segment in the compact profile: the same model over the same points,
/// its integer streams range-coded instead of table-coded (or, where the segment's codec does not
/// find its grid again in the stored values, the smallest lossless coding of them). Compaction does it to segments past a
/// series' `recompress_after` age.
///
/// The contract carries over unchanged because the values do: what the new segment decodes to is
/// checked to be the old segment's values and timestamps, bit for bit, so a lossy segment stays
/// within its bound of the original points it was verified against (which are gone by now).
package enum Recompression {
    /// What became of one segment.
    package enum Outcome: Equatable {
        /// The compact segment, verified.
        case recoded([UInt8])
        /// Already compact: nothing to do.
        case compact
        /// No compact coding reproduces the stored values exactly (or it would be larger): kept fast.
        case kept
    }

    /// - Parameter raw: a whole segment (magic to CRC).
    /// - Throws: `DecodeError` when `raw` does not decode.
    /// - Complexity: one decode, one encode by the segment's own codec and one decode to check, O(n).
    package static func compact(_ raw: [UInt8]) throws(DecodeError) -> Outcome {
        let old = try SegmentFormat.decode(raw)
        guard old.header.profile == .fast else { return .compact }
        let parsed = raw.withUnsafeBytes { r in Result { () throws(DecodeError) in try SegmentFormat.header(r) } }
        let valueRange = try parsed.get().valueRange
        var header = old.header
        header.profile = .compact
        let n = old.values.count
        /// The segment with `kind`'s payload, if it decodes to the old points exactly.
        func checked(_ kind: ModelKind, _ tsBytes: [UInt8], _ valueBytes: [UInt8]) -> [UInt8]? {
            var h = header
            h.kind = kind
            let derived = kind.codesOnBoundGrid && QuantizedCodec.stepFromBound(h.bound)
            let bytes = SegmentFormat.encode(
                header: h, timestampBytes: tsBytes, valueBytes: valueBytes, derived: derived)
            guard let new = try? SegmentFormat.decode(bytes), new.header == h, new.timestamps == old.timestamps,
                new.values.elementsEqual(old.values, by: { $0.bitPattern == $1.bitPattern })
            else { return nil }
            return bytes
        }
        let bytes = CodingProfile.$current.withValue(.compact) { () -> [UInt8]? in
            var tsBytes = old.timestamps.withUnsafeBufferPointer { TimestampCodec.encode($0, 0..<n) }
            if header.timeTolerance > 0 {  // snapped timestamps stay marked so (their tolerance holds as before)
                tsBytes = TimestampCodec.snapped(
                    tolerance: header.timeTolerance, maxError: header.maxTimeError, inner: tsBytes)
            }
            let kind = old.header.kind
            switch kind {
            case .constant, .linear, .polynomial, .sinusoid, .lzma, .raw:
                // No integer stream: the payload is the same under either profile.
                return checked(kind, tsBytes, Array(raw[valueRange]))
            default:
                break
            }
            return old.values.withUnsafeBufferPointer { v -> [UInt8]? in
                // The same codec on the stored values: lossless codecs reproduce them by design,
                // the grid codecs where the stored values lie on the grid they find again.
                let options = FitterOptions(profile: .compact)
                let decimals = DecimalCodec.decimals(v, 0..<n)
                // The interpolating codec finds its values again only by the method that made them.
                let stepLeftOut = raw.withUnsafeBytes { SegmentFormat.derivesFromHeader($0) }
                let method =
                    kind == .interpolated
                    ? InterpolationCodec.method(of: raw[valueRange], stepLeftOut: stepLeftOut) : nil
                if let payload = method.map({
                    InterpolationCodec.encode(v, 0..<n, bound: old.header.bound, methods: [$0])
                })
                    ?? Competition.encode(
                        kind, v, 0..<n, bound: old.header.bound, decimals: decimals, options: options),
                    let bytes = checked(kind, tsBytes, payload)
                {
                    return bytes
                }
                // Else the smallest lossless coding of the stored values (a lattice's cells are
                // decimals a decimal codec codes exactly).
                let lossless = Competition.codecs(v, 0..<n, bound: .lossless, options: options)
                for c in lossless.sorted(by: { $0.payload.count < $1.payload.count }) {
                    if let bytes = checked(c.kind, tsBytes, c.payload) { return bytes }
                }
                return nil
            }
        }
        guard let bytes, bytes.count <= raw.count else { return .kept }
        return .recoded(bytes)
    }
}
