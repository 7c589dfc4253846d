/// Settings of the fitter competition.
public struct FitterOptions: Sendable, Hashable {
    /// Highest polynomial degree tried (2...this); below 2 disables polynomials.
    public var maxPolynomialDegree: Int
    /// Whether the sinusoid fitter competes.
    public var sinusoid: Bool
    /// Try LZMA only when the best other lossless codec needs more than this many bytes/point.
    public var lzmaThreshold: Double

    public init(maxPolynomialDegree: Int = 3, sinusoid: Bool = true, lzmaThreshold: Double = 5.0) {
        self.maxPolynomialDegree = min(max(maxPolynomialDegree, 0), FunctionModel.maxDegree)
        self.sinusoid = sinusoid
        self.lzmaThreshold = lzmaThreshold
    }
}

/// A verified segment ready for disk.
package struct EncodedSegment: Sendable {
    package var header: SegmentHeader
    package var bytes: [UInt8]
}

/// The fitter competition: turns buffered points into verified segments.
///
/// From the first unencoded point, every fitter proposes the longest run it can cover within the
/// bound, every codec encodes the rest; the winner is the fewest bytes per covered point counting
/// the whole segment (header, timestamps, payload). The winner is encoded, decoded again and
/// checked point by point; a candidate that fails is never written and the next one is tried —
/// the raw codec always passes.
package enum Competition {
    /// Header bytes a segment costs besides its payloads (used only to rank candidates).
    static let headerEstimate = 48

    struct Candidate {
        var kind: ModelKind
        var count: Int
        var payload: [UInt8]
    }

    /// - Complexity: O(n · fitters) per segment produced, plus the candidates' own fitting.
    package static func encode(
        seriesID: UInt32, timestamps ts: UnsafeBufferPointer<Int64>, values v: UnsafeBufferPointer<Double>,
        range: Range<Int>, bound: ErrorBound, options: FitterOptions = FitterOptions()
    ) -> [EncodedSegment] {
        var out = [EncodedSegment]()
        var pos = range.lowerBound
        let fitters = FunctionFitters(ts: ts, values: v, bound: bound)
        while pos < range.upperBound {
            let remaining = min(range.upperBound - pos, SegmentFormat.maxPoints)
            var tsCache = [Int: [UInt8]]()
            func tsBytes(_ n: Int) -> [UInt8] {
                if let b = tsCache[n] { return b }
                let b = TimestampCodec.encode(ts, pos..<(pos + n))
                tsCache[n] = b
                return b
            }
            var candidates = [Candidate]()
            func addModel(_ fit: (FunctionModel, Int)?) {
                guard let (model, n) = fit, n > 0 else { return }
                var w = ByteWriter(capacity: 40)
                model.write(into: &w)
                candidates.append(Candidate(kind: model.kind, count: n, payload: w.bytes))
            }
            addModel(fitters.constant(start: pos, limit: remaining))
            addModel(fitters.linear(start: pos, limit: remaining))
            if !bound.isLossless {
                if options.maxPolynomialDegree >= 2 {
                    for degree in 2...options.maxPolynomialDegree {
                        addModel(fitters.polynomial(degree: degree, start: pos, limit: remaining))
                    }
                }
                if options.sinusoid { addModel(fitters.sinusoid(start: pos, limit: remaining)) }
            }
            let window = pos..<(pos + remaining)
            var bestLossless = Double.infinity
            if let d = DecimalCodec.encode(v, window) {
                candidates.append(Candidate(kind: .decimal, count: remaining, payload: d))
                bestLossless = Double(d.count) / Double(remaining)
            }
            if bound.isLossless {
                let x = XORCodec.encode(v, window)
                candidates.append(Candidate(kind: .xor, count: remaining, payload: x))
                bestLossless = min(bestLossless, Double(x.count) / Double(remaining))
                if let d = DictionaryCodec.encode(v, window) {
                    candidates.append(Candidate(kind: .dictionary, count: remaining, payload: d))
                    bestLossless = min(bestLossless, Double(d.count) / Double(remaining))
                }
                if bestLossless > options.lzmaThreshold, let l = LZMACodec.encode(v, window) {
                    candidates.append(Candidate(kind: .lzma, count: remaining, payload: l))
                }
            } else if let q = QuantizedCodec.encode(v, window, bound: bound) {
                candidates.append(Candidate(kind: .quantized, count: remaining, payload: q))
            }
            func score(_ c: Candidate) -> Double {
                Double(headerEstimate + tsBytes(c.count).count + c.payload.count) / Double(c.count)
            }
            let ranked = candidates.map { ($0, score($0)) }.sorted { $0.1 < $1.1 }.map(\.0)
            var emitted: EncodedSegment? = nil
            for c in ranked {
                if let s = verified(c, seriesID: seriesID, ts: ts, v: v, start: pos, bound: bound, tsBytes: tsBytes(c.count)) {
                    emitted = s
                    break
                }
            }
            if emitted == nil {
                let raw = Candidate(kind: .raw, count: remaining, payload: RawCodec.encode(v, window))
                emitted = verified(raw, seriesID: seriesID, ts: ts, v: v, start: pos, bound: bound, tsBytes: tsBytes(remaining))
            }
            guard let segment = emitted else {
                preconditionFailure("raw segment failed verification")  // raw stores exact bits
            }
            out.append(segment)
            pos += segment.header.count
        }
        return out
    }

    /// Builds the segment and decodes it again; `nil` unless every point comes back within the bound.
    static func verified(
        _ c: Candidate, seriesID: UInt32, ts: UnsafeBufferPointer<Int64>, v: UnsafeBufferPointer<Double>,
        start: Int, bound: ErrorBound, tsBytes: [UInt8]
    ) -> EncodedSegment? {
        let range = start..<(start + c.count)
        var header = SegmentHeader(
            seriesID: seriesID, kind: c.kind, firstTimestamp: ts[start], lastTimestamp: ts[range.upperBound - 1],
            bound: bound, summary: SegmentSummary(v, range), maxError: 0)
        // The max error is measured on a first decode, then the final bytes are decoded again.
        for pass in 0..<2 {
            let bytes = SegmentFormat.encode(header: header, timestampBytes: tsBytes, valueBytes: c.payload)
            guard let decoded = try? SegmentFormat.decode(bytes) else { return nil }
            var worst = 0.0
            for (j, i) in range.enumerated() {
                guard decoded.timestamps[j] == ts[i], bound.accepts(original: v[i], stored: decoded.values[j]) else {
                    return nil
                }
                if v[i].isFinite { worst = max(worst, abs(decoded.values[j] - v[i])) }
            }
            if pass == 1 || worst == header.maxError { return EncodedSegment(header: header, bytes: bytes) }
            header.maxError = worst
        }
        return nil
    }
}
