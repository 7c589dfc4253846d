/// Settings of the fitter competition.
public struct FitterOptions: Sendable, Hashable {
    /// Highest polynomial degree tried (2...this); below 2 disables polynomials.
    public var maxPolynomialDegree: Int
    /// Try LZMA only when the best other lossless codec needs more than this many bytes/point.
    public var lzmaThreshold: Double
    /// How the segments' integer streams are entropy-coded (a series' own choice).
    public var profile: CodingProfile

    // No sinusoid fitter: on the 19 real data sets it never won a segment at bounds of 0.1, 1, 5 or
    // 20 % of the range, with segments of 600 or 16 384 points, and it took 9 % of encoding at 1 %
    // (docs/benchmarks.md). Sinusoid segments written before still decode (`FunctionModel`).
    public init(maxPolynomialDegree: Int = 3, lzmaThreshold: Double = 6.0, profile: CodingProfile = .compact) {
        self.maxPolynomialDegree = min(max(maxPolynomialDegree, 0), FunctionModel.maxDegree)
        self.lzmaThreshold = lzmaThreshold
        self.profile = profile
    }
}

/// A verified segment ready for disk.
package struct EncodedSegment: Sendable {
    package var header: SegmentHeader
    package var bytes: [UInt8]

    package init(header: SegmentHeader, bytes: [UInt8]) {
        self.header = header
        self.bytes = bytes
    }
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

    /// - Precondition: `ts[range]` is in time order (the engine's buffers are; a segment whose last
    ///   timestamp precedes its first is refused by every reader).
    /// - Complexity: O(n · fitters) per segment produced, plus the candidates' own fitting.
    package static func encode(
        seriesID: UInt32, timestamps ts: UnsafeBufferPointer<Int64>, values v: UnsafeBufferPointer<Double>,
        range: Range<Int>, bound: ErrorBound, options: FitterOptions = FitterOptions()
    ) -> [EncodedSegment] {
        CodingProfile.$current.withValue(options.profile) {
            encodeAll(seriesID: seriesID, timestamps: ts, values: v, range: range, bound: bound, options: options)
        }
    }

    /// `encode` under the series' profile (`CodingProfile.current`).
    static func encodeAll(
        seriesID: UInt32, timestamps ts: UnsafeBufferPointer<Int64>, values v: UnsafeBufferPointer<Double>,
        range: Range<Int>, bound: ErrorBound, options: FitterOptions
    ) -> [EncodedSegment] {
        let mixed = segmentwise(
            seriesID: seriesID, timestamps: ts, values: v, range: range, bound: bound, options: options)
        guard mixed.count > 1 else { return mixed }
        // Many short model segments each pay a header and break the codec's context: the best codec
        // over the whole range, in segments as long as allowed, wins where it is smaller in total.
        var whole = [EncodedSegment]()
        var pos = range.lowerBound
        while pos < range.upperBound {
            let end = min(range.upperBound, pos + SegmentFormat.maxPoints)
            let tsBytes = TimestampCodec.encode(ts, pos..<end)
            let ranked = codecs(v, pos..<end, bound: bound, options: options).sorted {
                $0.payload.count < $1.payload.count
            }
            guard
                let s = firstVerified(
                    ranked, seriesID: seriesID, ts: ts, v: v, range: pos..<end, bound: bound,
                    options: options, tsBytes: tsBytes)
            else { return mixed }
            whole.append(s)
            pos = end
        }
        let size: ([EncodedSegment]) -> Int = { $0.reduce(0) { $0 + $1.bytes.count } }
        return size(whole) < size(mixed) ? whole : mixed
    }

    /// The competition proper: segment by segment, the cheapest model or codec from each point on.
    static func segmentwise(
        seriesID: UInt32, timestamps ts: UnsafeBufferPointer<Int64>, values v: UnsafeBufferPointer<Double>,
        range: Range<Int>, bound: ErrorBound, options: FitterOptions
    ) -> [EncodedSegment] {
        var out = [EncodedSegment]()
        var pos = range.lowerBound
        let fitters = FunctionFitters(ts: ts, values: v, bound: bound)
        // What the codecs cost per point (header and timestamps included): from the last codec
        // segment, or a first estimate. Models must beat it; codec stretches end where one would.
        var codecCost: Double? = nil
        while pos < range.upperBound {
            let remaining = min(range.upperBound - pos, SegmentFormat.maxPoints)
            var tsCache = [Int: [UInt8]]()
            func tsBytes(_ n: Int) -> [UInt8] {
                if let b = tsCache[n] { return b }
                let b = TimestampCodec.encode(ts, pos..<(pos + n))
                tsCache[n] = b
                return b
            }
            func score(_ c: Candidate) -> Double {
                Double(headerEstimate + tsBytes(c.count).count + c.payload.count) / Double(c.count)
            }
            var models = [Candidate]()
            func addModel(_ fit: (FunctionModel, Int)?) {
                guard let (model, n) = fit, n > 0 else { return }
                var w = ByteWriter(capacity: 40)
                model.write(into: &w)
                models.append(Candidate(kind: model.kind, count: n, payload: w.bytes))
            }
            addModel(fitters.constant(start: pos, limit: remaining))
            addModel(fitters.linear(start: pos, limit: remaining))
            if !bound.isLossless {
                if options.maxPolynomialDegree >= 2 {
                    for degree in 2...options.maxPolynomialDegree {
                        addModel(fitters.polynomial(degree: degree, start: pos, limit: remaining))
                    }
                }
            }
            let estimate: Double
            if let codecCost {
                estimate = codecCost
            } else {
                let probe = pos..<(pos + min(remaining, 1024))
                estimate = codecs(v, probe, bound: bound, options: options).map(score).min() ?? .infinity
            }
            var ranked = models.map { ($0, score($0)) }.filter { $0.1 <= estimate }.sorted { $0.1 < $1.1 }.map(\.0)
            var emitted: EncodedSegment? = nil
            for c in ranked {
                if let s = verified(
                    c, seriesID: seriesID, ts: ts, v: v, start: pos, bound: bound, tsBytes: tsBytes(c.count))
                {
                    emitted = s
                    break
                }
            }
            if emitted == nil {
                // A codec stretch up to where a constant or linear run would win again.
                let length = codecRun(fitters, from: pos, limit: remaining, costPerPoint: estimate)
                ranked = codecs(v, pos..<(pos + length), bound: bound, options: options).sorted {
                    score($0) < score($1)
                }
                if let s = firstVerified(
                    ranked, seriesID: seriesID, ts: ts, v: v, range: pos..<(pos + length), bound: bound,
                    options: options, tsBytes: tsBytes(length))
                {
                    emitted = s
                    codecCost = Double(s.bytes.count) / Double(s.header.count)
                }
            }
            if emitted == nil {
                let raw = Candidate(
                    kind: .raw, count: remaining, payload: encode(.raw, v, pos..<(pos + remaining), bound: bound) ?? [])
                emitted = verified(
                    raw, seriesID: seriesID, ts: ts, v: v, start: pos, bound: bound, tsBytes: tsBytes(remaining))
            }
            guard let segment = emitted else {
                preconditionFailure("raw segment failed verification")  // raw stores exact bits
            }
            out.append(segment)
            pos += segment.header.count
        }
        return out
    }

    /// Points in each of the two probes that shortlist the codecs of a long range.
    static let probeLength = 1024
    /// The shortest probes: below this a coder's learning and a codec's header dominate its size.
    static let shortestProbe = 256
    /// A codec stays in the running when its probes cost at most this much more than the best's.
    static let probeTolerance = 0.06

    /// The codecs that apply to `range`, each with its encoding. A range of 2 048 points or more is
    /// first encoded by every codec at two probes (at its start and its middle, each an eighth of it
    /// up to `probeLength`: an agent's segments are a few thousand points); only those within
    /// `probeTolerance` of the smallest are encoded whole (the codecs' sizes per point stay close to
    /// their probes' on sensor data, and entropy coding every codec over 16 384 points was most of
    /// the encoder's time). The dictionary is always encoded whole: its table costs the same for a
    /// probe as for the range, so a probe misjudges it (elf_basel_wind: 1.40 -> 3.22 bytes/point).
    /// `excluding` skips kinds already tried.
    static func codecs(
        _ v: UnsafeBufferPointer<Double>, _ range: Range<Int>, bound: ErrorBound, options: FitterOptions,
        shortlist: Bool = true, excluding: Set<ModelKind> = []
    ) -> [Candidate] {
        var out = [Candidate]()
        let n = range.count
        var bestLossless = Double.infinity
        let candidates = CodecRegistry.candidates(lossless: bound.isLossless)
        var kinds = applicable(candidates.filter { !excluding.contains($0) }, v, range, bound: bound)
        // Float32 data: its views' codecs include every lossless codec on shorter decimals (a
        // dictionary's table among them, which a probe misjudges), so it alone is encoded.
        if shortlist && kinds.contains(.float32) { kinds = [.float32] }
        let probe = min(probeLength, n / 8)
        if shortlist && kinds.count > 1 && probe >= shortestProbe {
            let middle = range.lowerBound + n / 2
            let probes = [range.lowerBound..<(range.lowerBound + probe), middle..<(middle + probe)]
            let sizes = kinds.map { kind in
                probes.reduce(0 as Int?) { sum, probe in
                    guard let sum, let e = encode(kind, v, probe, bound: bound, options: options) else { return nil }
                    return sum + e.count
                }
            }
            if let smallest = sizes.compactMap({ $0 }).min() {
                let limit = Double(smallest) * (1 + probeTolerance) + 8
                var sized = zip(kinds, sizes).filter { kind, size in
                    kind == .dictionary || size.map { Double($0) <= limit } ?? false
                }
                // The two grids code the same residuals on cells a few per cent apart: only the
                // smaller on the probes is worth encoding whole.
                if let q = sized.firstIndex(where: { $0.0 == .quantized }),
                    let l = sized.firstIndex(where: { $0.0 == .lattice })
                {
                    sized.remove(at: (sized[l].1 ?? .max) <= (sized[q].1 ?? .max) ? q : l)
                }
                kinds = sized.map(\.0)
            }
        }
        let decimals =
            bound.isLossless && (kinds.contains(.decimal) || kinds.contains(.significant))
            ? DecimalCodec.decimals(v, range) : nil
        for kind in kinds {
            if let e = encode(kind, v, range, bound: bound, decimals: decimals, options: options) {
                out.append(Candidate(kind: kind, count: n, payload: e))
                bestLossless = min(bestLossless, Double(e.count) / Double(n))
            }
        }
        if bound.isLossless && bestLossless > options.lzmaThreshold && !excluding.contains(.lzma),
            let l = encode(.lzma, v, range, bound: bound, options: options)
        {
            out.append(Candidate(kind: .lzma, count: n, payload: l))
        }
        return out
    }

    /// Points (spread over a range) that decide whether the lattice, float32 and ordinal codecs are tried on it.
    static let gateSample = 1024

    /// The kinds of `kinds` worth encoding `range` with, judged on points spread over it (one sample,
    /// its decimals found once): the lattice codec only where decimals make cells wider than `2ε`
    /// (`LatticeCodec.lattice`), the float32 codec only on float32s without short double decimals
    /// (`Float32Codec.applies`), the ordinal codec only where a quarter of the values have no short
    /// decimal; the rest always.
    static func applicable(
        _ kinds: [ModelKind], _ v: UnsafeBufferPointer<Double>, _ range: Range<Int>, bound: ErrorBound
    ) -> [ModelKind] {
        guard kinds.contains(where: { CodecRegistry.codec($0)?.gate != nil }) else { return kinds }
        // Every k-th point, so a range that starts on whole readings is judged by all of it.
        let stride = max(1, range.count / gateSample)
        let sample = Swift.stride(from: range.lowerBound, to: range.upperBound, by: stride).map { v[$0] }
        return sample.withUnsafeBufferPointer { s in
            let probe = CodecSample(values: s, decimals: DecimalCodec.decimals(s, 0..<s.count), bound: bound)
            return kinds.filter { CodecRegistry.codec($0)?.gate?(probe) ?? true }
        }
    }

    /// The first of `ranked` that verifies; failing that, the codecs the shortlist left out.
    static func firstVerified(
        _ ranked: [Candidate], seriesID: UInt32, ts: UnsafeBufferPointer<Int64>, v: UnsafeBufferPointer<Double>,
        range: Range<Int>, bound: ErrorBound, options: FitterOptions, tsBytes: [UInt8]
    ) -> EncodedSegment? {
        func first(_ cs: [Candidate]) -> EncodedSegment? {
            cs.lazy.compactMap {
                verified($0, seriesID: seriesID, ts: ts, v: v, start: range.lowerBound, bound: bound, tsBytes: tsBytes)
            }.first
        }
        if let s = first(ranked) { return s }
        let rest = codecs(
            v, range, bound: bound, options: options, shortlist: false, excluding: Set(ranked.map(\.kind)))
        return first(rest.sorted { $0.payload.count < $1.payload.count })
    }

    static func encode(
        _ kind: ModelKind, _ v: UnsafeBufferPointer<Double>, _ range: Range<Int>, bound: ErrorBound,
        decimals: [UInt8]? = nil,
        options: FitterOptions = FitterOptions()
    ) -> [UInt8]? {
        guard let codec = CodecRegistry.codec(kind) else { return nil }
        return codec.encode(
            v, range, CodecContext(bound: bound, decimals: decimals, innerLossless: innerLossless(options)))
    }

    /// A codec's inner coding (the float32 codec's views): the smallest of the codecs that suit decimals.
    package static func innerLossless(_ options: FitterOptions) -> (UnsafeBufferPointer<Double>, Range<Int>) -> (
        code: UInt8, payload: [UInt8]
    )? {
        { w, r in
            codecs(w, r, bound: .lossless, options: options, excluding: [.float32, .lzma, .ordinal])
                .filter { CodecRegistry.viewKinds.contains($0.kind) }
                .min { $0.payload.count < $1.payload.count }
                .map { (code: $0.kind.rawValue, payload: $0.payload) }
        }
    }

    /// How far a codec segment starting at `start` should reach: up to the first point (probed every
    /// 64) where a constant or linear run long enough to beat `costPerPoint` begins.
    static func codecRun(_ fitters: FunctionFitters, from start: Int, limit: Int, costPerPoint: Double) -> Int {
        // A model segment (~70 bytes) plus the extra codec header must pay for themselves.
        let minRun = max(32, Int(Double(headerEstimate * 2 + 24) / max(costPerPoint, 0.01)))
        var q = start + 64
        while q + minRun <= start + limit {
            if let (_, n) = fitters.constant(start: q, limit: minRun), n >= minRun { return q - start }
            if let (_, n) = fitters.linear(start: q, limit: minRun), n >= minRun { return q - start }
            q += 64
        }
        return limit
    }

    /// Builds the segment and decodes it again; `nil` unless every point comes back within the bound.
    static func verified(
        _ c: Candidate, seriesID: UInt32, ts: UnsafeBufferPointer<Int64>, v: UnsafeBufferPointer<Double>,
        start: Int, bound: ErrorBound, tsBytes: [UInt8]
    ) -> EncodedSegment? {
        let range = start..<(start + c.count)
        var header = SegmentHeader(
            seriesID: seriesID, kind: c.kind, firstTimestamp: ts[start], lastTimestamp: ts[range.upperBound - 1],
            bound: bound, summary: SegmentSummary(v, range), maxError: 0, profile: CodingProfile.current)
        // Decode the candidate exactly as a reader will, check every point, measure the max error.
        let derived = c.kind.codesOnBoundGrid && QuantizedCodec.stepFromBound(bound)
        let first = SegmentFormat.encode(
            header: header, timestampBytes: tsBytes, valueBytes: c.payload, derived: derived)
        guard let decoded = try? SegmentFormat.decode(first) else { return nil }
        var worst = 0.0
        for (j, i) in range.enumerated() {
            guard decoded.timestamps[j] == ts[i], bound.accepts(original: v[i], stored: decoded.values[j]) else {
                return nil
            }
            if v[i].isFinite { worst = max(worst, abs(decoded.values[j] - v[i])) }
        }
        if worst == 0 { return EncodedSegment(header: header, bytes: first) }
        // Only the header's max-error field changes; its payloads are the bytes just verified.
        header.maxError = SegmentFormat.storedMaxError(worst, bound)
        let bytes = SegmentFormat.encode(
            header: header, timestampBytes: tsBytes, valueBytes: c.payload, derived: derived)
        guard let (h, _, _) = try? bytes.withUnsafeBytes({ try SegmentFormat.header($0) }), h == header else {
            return nil
        }
        return EncodedSegment(header: header, bytes: bytes)
    }
}
