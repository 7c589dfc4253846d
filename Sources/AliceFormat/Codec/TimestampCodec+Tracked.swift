/// Timestamp mode `tracked`: arrival times of a periodic sensor. A gateway stamps a reading when it
/// arrives, so a sensor that sends every `P` ms by its own clock arrives at `k·P` plus a network
/// and scheduling delay that does not accumulate. Deltas (modes `steps`, `treeDods`) code each delay
/// twice (`d_i − d_(i−1)`); here each point is coded once, as its distance from a grid that follows
/// the sensor's clock: the grid moves one period (or, after a gap, the nearest whole number of them)
/// and then `1/2^shift` of the way to the point, which absorbs a clock that runs fast or slow
/// without following every delay. Simulated on 16 384 arrivals of a 1 s sensor with 0–25 ms delays:
/// 4.8 bits a point against 5.4 for deltas; a timer that restarts at every send (delays that do
/// accumulate) stays with the deltas, which the encoder picks by size.
extension TimestampCodec {
    /// Fractional bits of the grid position.
    static let trackedFraction: Int64 = 8
    /// The grid follows each point by `1/2^shift`; the encoder tries these.
    static let trackedShifts = 2...6
    /// Spans and periods the fixed-point grid holds without overflow (`2^52 · 2^8 < 2^61`).
    static let trackedSpan: Int64 = 1 << 52
    /// Points the shift is chosen on.
    static let shiftSample = 8192

    /// The grid's state: its position in 1/256 units relative to the first timestamp.
    struct TrackedGrid {
        let period: Int64
        let shift: Int64
        var position: Int64

        init(period: Int64, shift: Int64, firstDelta: Int64) {
            self.period = period
            self.shift = shift
            position = firstDelta &<< trackedFraction
        }

        /// Where the next point is expected: one period on.
        @inline(__always)
        var expected: Int64 { (position &+ (period &<< trackedFraction)) >> trackedFraction }

        /// Moves the grid to `x` (relative to the first timestamp): the whole periods nearest it,
        /// then part of the way to it. Wrapping arithmetic: a corrupt stream gives wrong times.
        @inline(__always)
        mutating func advance(to x: Int64) {
            let unit = period &<< trackedFraction
            let ahead = (x &<< trackedFraction) &- position
            // Within one and a half periods: one period (the usual case, no division).
            let periods = ahead < unit &+ unit >> 1 ? 1 : max(1, (ahead &+ unit >> 1) / unit)
            let landed = position &+ periods &* unit
            let off = x &- (landed >> trackedFraction)
            position = landed &+ ((off &<< trackedFraction) >> shift)
        }
    }

    /// Mode `tracked`: `svarint firstDelta, varint period P, u8 shift`, then each later point's
    /// distance from where the grid expects it, zig-zagged and range-coded; `nil` where the span or
    /// the period is too large for the fixed-point grid, or the times are not sorted.
    static func tracked(_ ts: UnsafeBufferPointer<Int64>, _ range: Range<Int>, deltas: [Int64], firstDelta: Int64)
        -> ByteWriter?
    {
        let lo = range.lowerBound
        guard range.count > 2, firstDelta >= 0 else { return nil }
        let (span, overflow) = ts[range.upperBound - 1].subtractingReportingOverflow(ts[lo])
        guard !overflow, span >= 0, span < trackedSpan, deltas.allSatisfy({ $0 >= 0 }) else { return nil }
        let sorted = deltas.sorted()
        let period = sorted[sorted.count / 2]
        guard period > 0 else { return nil }
        // The distances from the grid of `shift` for the points up to `end`.
        func distances(_ shift: Int, to end: Int) -> [UInt64] {
            var grid = TrackedGrid(period: period, shift: Int64(shift), firstDelta: firstDelta)
            var zig = [UInt64]()
            zig.reserveCapacity(end - lo - 2)
            for i in (lo + 2)..<end {
                let x = ts[i] &- ts[lo]
                zig.append(ZigZag.encode(x &- grid.expected))
                grid.advance(to: x)
            }
            return zig
        }
        // The shift whose distances have the fewest bits (the range coder's cost follows them) on
        // the first `shiftSample` points: a clock and its delays do not change within a segment.
        let sampleEnd = min(range.upperBound, lo + 2 + shiftSample)
        let costs = trackedShifts.map { s in
            (s, distances(s, to: sampleEnd).reduce(0) { $0 + 64 - $1.leadingZeroBitCount })
        }
        let shift = costs.min { $0.1 < $1.1 }?.0 ?? trackedShifts.lowerBound
        var w = ByteWriter(capacity: 32)
        w.u8(Mode.tracked.rawValue)
        w.svarint(firstDelta)
        w.varint(UInt64(period))
        w.u8(UInt8(shift))
        w.append(RangeCoder.encode(distances(shift, to: range.upperBound), layout: .trees))
        return w
    }

    /// Decodes the rest of a `tracked` payload (after the first delta) into `out`.
    static func decodeTracked(
        _ r: inout ByteReader, count: Int, first: Int64, firstDelta: Int64, into out: inout [Int64]
    ) throws(DecodeError) {
        let at = r.offset
        let period = try r.varint("timestamp period")
        let shift = try r.u8("timestamp grid shift")
        guard period >= 1, period < UInt64(trackedSpan), trackedShifts.contains(Int(shift)) else {
            throw DecodeError("tracked timestamps: period \(period), shift \(shift)", offset: at)
        }
        var zig = [UInt64]()
        zig.reserveCapacity(count - 2)
        try RangeCoder.decode(count: count - 2, from: r.bytes, r.offset, r.end, layout: .trees, into: &zig)
        var grid = TrackedGrid(period: Int64(period), shift: Int64(shift), firstDelta: firstDelta)
        for z in zig {
            let x = grid.expected &+ ZigZag.decode(z)
            out.append(first &+ x)
            grid.advance(to: x)
        }
        r.offset = r.end
    }
}
