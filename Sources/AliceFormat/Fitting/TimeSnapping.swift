/// Timestamps stored within a tolerance of the ones written (a series' `timeTolerance`): snapped to
/// a fitted clock, so that a gateway's arrival times — a sensor's period plus a delay that changes
/// with every reading — cost what the clock costs instead of what the delays do.
///
/// The clock is a grid of step `P` (an integer, in timestamp units) that each stored timestamp
/// follows from the one before (`s_i = s_(i−1) + P`) for as long as every point stays within the
/// tolerance; where one cannot, the grid restarts at that point — one period on after a gap if
/// that fits — and the timestamp codec (mode `steps`) pays for that point alone. For a fixed `P`
/// greedy runs are as long as any: each is extended while some start keeps all of its points in
/// their windows (an intersection of intervals), which is the fewest restarts. `P` is chosen
/// among the median interval and the mean slope (each rounded both ways) by an estimate of what
/// the restarts cost.
///
/// What holds for every point, and what the writer verifies on the decoded segment:
/// - `|stored − written| ≤ tolerance` (integers: the bound is inclusive);
/// - order and equality are kept: written timestamps that are equal are stored equal, and one
///   before another is stored before it — so duplicates stay duplicates and nothing is reordered;
/// - the first and last timestamps of what is snapped (a flush) are stored exactly, so stored time
///   ranges of successive flushes keep their order, and a series' flushed high-water mark is exact.
package enum TimeSnapping {
    /// Timestamps beyond ±2^61 are not snapped (so that no window or grid position overflows).
    static let safeMagnitude: Int64 = 1 << 61
    /// Steps above this are not tried (a step times the points of a segment stays far from overflow).
    static let maxStep: Int64 = 1 << 40
    /// Intervals the median step is taken from.
    static let medianSample = 2048

    /// Stored timestamps for the sorted `ts[range]`, each within `tolerance` of its original
    /// (see the type's contract), on the fitted clock; nil when nothing is gained: fewer than three
    /// distinct timestamps, timestamps outside ±2^61, or a snapped coding no smaller than the exact
    /// one under the current profile.
    /// - Precondition: `ts[range]` is in time order.
    /// - Complexity: O(n log n) (a sort for the median), then O(n) per step tried.
    package static func snap(_ ts: UnsafeBufferPointer<Int64>, _ range: Range<Int>, tolerance: Int64) -> [Int64]? {
        let tol = min(tolerance, TimestampCodec.maxTolerance)
        guard tol > 0, range.count >= 3 else { return nil }
        // Distinct timestamps (the grid is laid over them; duplicates follow their original).
        var u = [Int64]()
        u.reserveCapacity(range.count)
        for i in range where u.last != ts[i] {
            guard ts[i] > -safeMagnitude, ts[i] < safeMagnitude, u.last.map({ $0 < ts[i] }) ?? true else { return nil }
            u.append(ts[i])
        }
        guard u.count >= 3 else { return nil }
        var best: (cost: Double, stored: [Int64])? = nil
        for step in steps(u) {
            let (stored, cost) = grid(u, step: step, tolerance: tol)
            if best.map({ cost < $0.cost }) ?? true { best = (cost, stored) }
        }
        guard let best, best.stored != u else { return nil }
        var out = [Int64]()
        out.reserveCapacity(range.count)
        var k = -1
        for i in range {
            if i == range.lowerBound || ts[i] != ts[i - 1] { k += 1 }
            out.append(best.stored[k])
        }
        // Only where the coding is smaller, counting the tolerance the segment then carries. A clock
        // snapped to less than a bit a point is taken as it is (written times that cost less have
        // no jitter to snap, and come back unmoved): coding the written times, a jittery clock's
        // slowest coding, was a quarter of the encoder's time.
        let snappedBytes = out.withUnsafeBufferPointer { TimestampCodec.encode($0, 0..<$0.count).count } + 6
        if snappedBytes * 8 > range.count {
            guard snappedBytes < TimestampCodec.encode(ts, range).count else { return nil }
        }
        return out
    }

    /// The steps tried for distinct timestamps `u`: the median interval and the mean slope, each
    /// rounded down and up, and the median's neighbours.
    static func steps(_ u: [Int64]) -> [Int64] {
        // The median of at most `medianSample` intervals spread over the range.
        let stride = max(1, (u.count - 1) / medianSample)
        var deltas = [Int64]()
        deltas.reserveCapacity((u.count - 1) / stride + 1)
        for k in Swift.stride(from: 1, to: u.count, by: stride) { deltas.append(u[k] - u[k - 1]) }
        deltas.sort()
        let median = deltas[deltas.count / 2]
        let slope = Double(u[u.count - 1] - u[0]) / Double(u.count - 1)
        var out = [Int64]()
        for s in [median, Int64(slope.rounded(.down)), Int64(slope.rounded(.up)), median - 1, median + 1]
        where s >= 1 && s <= maxStep && !s.multipliedReportingOverflow(by: Int64(u.count)).overflow
            && s * Int64(u.count) < safeMagnitude && !out.contains(s)
        {
            out.append(s)
        }
        return out
    }

    /// The greedy clock of `step` over distinct sorted `u`: the stored timestamps and an estimate
    /// of the bits its restarts cost (each: the bits of how far it moves the grid, plus where it is).
    static func grid(_ u: [Int64], step: Int64, tolerance tol: Int64) -> (stored: [Int64], cost: Double) {
        let m = u.count
        let last = u[m - 1]
        // The window of distinct timestamp k: within the tolerance, room left for the ones after
        // it below the last (stored exactly), the first and last exact.
        @inline(__always) func lo(_ k: Int) -> Int64 { k == m - 1 ? last : u[k] - tol }
        @inline(__always) func hi(_ k: Int) -> Int64 { k == m - 1 ? last : min(u[k] + tol, last - Int64(m - 1 - k)) }
        var s = [Int64](repeating: 0, count: m)
        s[0] = u[0]
        var restarts = 0
        var bits = 0.0
        var k = 1
        while k < m {
            // Starts o of a run from k that keep every point j in its window: o + (j − k)·step.
            var a = max(lo(k), s[k - 1] + 1)
            var b = hi(k)
            var j = k + 1
            var d = step
            var regular = true  // the run's written times are on a grid of `step` themselves
            while j < m {
                let na = max(a, lo(j) - d)
                let nb = min(b, hi(j) - d)
                if na > nb { break }
                (a, b) = (na, nb)
                regular = regular && u[j] == u[k] + d
                j += 1
                d += step
            }
            // The grid's own continuation where it fits (after a gap: whole steps on); else a run
            // that is regular as written (4 points or more) stays exact; else the start nearest the
            // continuation (the smallest correction to code).
            let want = s[k - 1] + step
            var o = min(max(want, a), b)
            if want < a, case let c = s[k - 1] + (a - s[k - 1] + step - 1) / step * step, c <= b {
                o = c
            } else if o != want && regular && j - k >= 4 && u[k] >= a && u[k] <= b {
                o = u[k]
            }
            if o != want && k > 1 {
                restarts += 1
                let excess = (o - want) % step == 0 ? (o - want) / step : o - want
                bits += Double(64 - excess.magnitude.leadingZeroBitCount) + 2
            }
            var t = o
            for i in k..<j {
                s[i] = t
                t += step
            }
            k = j
        }
        // Where the restarts are: about log2(m / restarts) + 1.5 bits each.
        if restarts > 0 { bits += Double(restarts) * (_log2(Double(m) / Double(restarts)) + 1.5) }
        return (s, bits)
    }
}

extension Competition {
    /// `encode` for a series whose timestamps may be stored within `timeTolerance` of `ts` (0:
    /// exactly, as `encode` does): the timestamps are snapped to a fitted clock first
    /// (`TimeSnapping.snap`), the competition fits and verifies the values at the stored
    /// timestamps, and every segment whose timestamps moved then carries the tolerance (mode
    /// `snapped`) and is decoded once more and checked against the written points — every
    /// timestamp within the tolerance, order and equality kept, every value within `bound`. Should
    /// a check fail, the range is encoded with exact timestamps instead.
    package static func encode(
        seriesID: UInt32, timestamps ts: UnsafeBufferPointer<Int64>, values v: UnsafeBufferPointer<Double>,
        range: Range<Int>, bound: ErrorBound, timeTolerance: Int64, options: FitterOptions = FitterOptions()
    ) -> [EncodedSegment] {
        func exact() -> [EncodedSegment] {
            encode(seriesID: seriesID, timestamps: ts, values: v, range: range, bound: bound, options: options)
        }
        let tolerance = min(timeTolerance, TimestampCodec.maxTolerance)
        guard tolerance > 0 else { return exact() }
        let snapped = CodingProfile.$current.withValue(options.profile) {
            TimeSnapping.snap(ts, range, tolerance: tolerance)
        }
        guard let stored = snapped else { return exact() }
        let values = UnsafeBufferPointer(rebasing: v[range])
        let fitted = stored.withUnsafeBufferPointer { s in
            encode(
                seriesID: seriesID, timestamps: s, values: values, range: 0..<s.count, bound: bound, options: options)
        }
        var out = [EncodedSegment]()
        out.reserveCapacity(fitted.count)
        var pos = range.lowerBound
        var before: (written: Int64, stored: Int64)? = nil
        for segment in fitted {
            let points = pos..<(pos + segment.header.count)
            var worst: Int64 = 0
            for i in points { worst = max(worst, abs(stored[i - range.lowerBound] - ts[i])) }  // both within ±2^61
            guard let s = worst == 0 ? segment : TimeSnapping.marked(segment, tolerance: tolerance, maxError: worst),
                let last = TimeSnapping.verified(s, ts, v, points, bound: bound, tolerance: tolerance, after: before)
            else { return exact() }
            out.append(s)
            before = (ts[points.upperBound - 1], last)
            pos = points.upperBound
        }
        return out
    }
}

extension TimeSnapping {
    /// `segment` with its timestamp payload in mode `snapped` (the header's time tolerance and max
    /// time error set to match); nil if its bytes do not parse.
    static func marked(_ segment: EncodedSegment, tolerance: Int64, maxError: Int64) -> EncodedSegment? {
        let parts = segment.bytes.withUnsafeBytes { raw -> ([UInt8], [UInt8], Bool)? in
            guard let (_, tsRange, valueRange) = try? SegmentFormat.header(raw),
                !tsRange.isEmpty, raw[tsRange.lowerBound] != TimestampCodec.Mode.snapped.rawValue
            else { return nil }
            return (Array(raw[tsRange]), Array(raw[valueRange]), SegmentFormat.derivesFromHeader(raw))
        }
        guard let (tsBytes, valueBytes, derived) = parts else { return nil }
        var header = segment.header
        (header.timeTolerance, header.maxTimeError) = (tolerance, maxError)
        let bytes = SegmentFormat.encode(
            header: header,
            timestampBytes: TimestampCodec.snapped(tolerance: tolerance, maxError: maxError, inner: tsBytes),
            valueBytes: valueBytes, derived: derived)
        return EncodedSegment(header: header, bytes: bytes)
    }

    /// Decodes `segment` as a reader will and checks it against the written `ts[points]` and
    /// `v[points]`: every value within `bound`, every timestamp within `tolerance` (and within
    /// what the header claims), written timestamps that are equal stored equal and one before
    /// another stored before it — also across `after`, the point before (written, stored). Returns
    /// the last stored timestamp; nil if anything fails.
    static func verified(
        _ segment: EncodedSegment, _ ts: UnsafeBufferPointer<Int64>, _ v: UnsafeBufferPointer<Double>,
        _ points: Range<Int>, bound: ErrorBound, tolerance: Int64, after: (written: Int64, stored: Int64)?
    ) -> Int64? {
        // (Headers compared field by field where it matters: a NaN sum is never `==` itself.)
        let h = segment.header
        guard let d = try? SegmentFormat.decode(segment.bytes), d.header.timeTolerance == h.timeTolerance,
            d.header.maxTimeError == h.maxTimeError, d.header.firstTimestamp == h.firstTimestamp,
            d.header.lastTimestamp == h.lastTimestamp, d.header.count == h.count, d.timestamps.count == points.count,
            d.header.maxTimeError <= tolerance
        else { return nil }
        var previous = after
        for (j, i) in points.enumerated() {
            let s = d.timestamps[j]
            let (distance, overflow) = s.subtractingReportingOverflow(ts[i])
            guard !overflow, distance.magnitude <= d.header.maxTimeError.magnitude,
                bound.accepts(original: v[i], stored: d.values[j])
            else { return nil }
            if let (w, p) = previous, (ts[i] < w) != (s < p) || (ts[i] == w) != (s == p) { return nil }
            previous = (ts[i], s)
        }
        return previous?.stored
    }
}
