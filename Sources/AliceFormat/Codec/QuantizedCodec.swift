/// Error-bounded coding: each value is predicted from the already *reconstructed* values and
/// the prediction error is rounded to a grid of step ≈ 2·bound, then Rice-coded or range-coded
/// (`RangeCoder`), whichever is smaller: the order byte's high bit says which.
///
/// The decoder repeats the same floating-point operations in the same order, so the encoder's
/// check of every reconstructed value is the decoder's result. Values that fail the check
/// (rounding at the grid edge, non-finite, a relative bound of 0 at zero) are exceptions with
/// exact bits.
package enum QuantizedCodec {
    static let limit = 4.0e18

    /// The grid step for a segment: twice the smallest error allowed anywhere in it, shaved by
    /// a hair so a value at exactly half a step still lands inside the bound.
    static func step(_ v: UnsafeBufferPointer<Double>, _ range: Range<Int>, bound: ErrorBound) -> Double {
        if bound.relativePercent == 0 { return step(absolute: bound.absolute) }
        let smallest = smallestAllowed(v, range, bound: bound)
        return smallest.isFinite ? 2 * smallest * (1 - 1e-9) : 0
    }

    /// The smallest non-zero error `bound` allows at any value of `v[range]` (∞ if none).
    static func smallestAllowed(_ v: UnsafeBufferPointer<Double>, _ range: Range<Int>, bound: ErrorBound) -> Double {
        if bound.relativePercent == 0 { return bound.absolute > 0 ? bound.absolute : .infinity }
        var smallest = Double.infinity
        for i in range {
            let a = bound.allowed(v[i])
            if a > 0 && a < smallest { smallest = a }
        }
        return smallest
    }

    /// Whether a segment under `bound` leaves the grid step out of its payload: an absolute bound
    /// alone gives it (`step`), so the reader derives it from the segment's header. 8 bytes a
    /// segment: 1.3 % of what a 600-point segment at a 1 % bound stores.
    package static func stepFromBound(_ bound: ErrorBound) -> Bool {
        bound.relativePercent == 0 && bound.absolute > 0 && bound.absolute.isFinite
    }

    /// The step `stepFromBound` segments are decoded with: exactly `step`'s for such a bound.
    static func step(absolute: Double) -> Double { 2 * absolute * (1 - 1e-9) }

    /// - Parameter writeStep: write the step even where the bound gives it (the layout before
    ///   `stepFromBound`, kept for the decoding tests).
    /// - Parameter exactly: every value must come back bit for bit (else it is an exception): for
    ///   values already stored on a grid of this bound, coded again (`SegmentMerge`).
    package static func encode(
        _ v: UnsafeBufferPointer<Double>, _ range: Range<Int>, bound: ErrorBound, writeStep: Bool = false,
        exactly: Bool = false
    ) -> [UInt8]? {
        let n = range.count
        let step = step(v, range, bound: bound)
        guard n > 0, step > 0, step.isFinite else { return nil }
        // Every predictor quantises; the one whose indices look cheapest (bit widths, exceptions)
        // is entropy-coded, Rice or range coder, whichever is smaller.
        var best: (order: Int, estimate: Int, qs: [UInt64], exceptions: Exceptions)? = nil
        for order in 1...4 {
            var qs = [UInt64]()
            var exceptions = Exceptions()
            // One loop per predictor (previous, linear, mean of two, damped trend): no switch per value.
            var estimate = qs.appendUninitialized(count: n) { out in
                switch order {
                case 1: quantize(v, range, step, bound, exactly, &exceptions, out) { r1, _ in r1 }
                case 2: quantize(v, range, step, bound, exactly, &exceptions, out) { r1, r2 in (r1 + r1) - r2 }
                case 3: quantize(v, range, step, bound, exactly, &exceptions, out) { r1, r2 in (r1 + r2) * 0.5 }
                default:
                    quantize(v, range, step, bound, exactly, &exceptions, out) { r1, r2 in r1 + (r1 - r2) * 0.5 }
                }
            }
            estimate += exceptions.count * 80
            if exceptions.count > n / 4 { continue }
            if best == nil || estimate < best!.estimate { best = (order, estimate, qs, exceptions) }
        }
        guard let chosen = best else { return nil }
        var w = ByteWriter(capacity: n / 2 + 32)
        if writeStep || !stepFromBound(bound) { w.f64(step) }
        EntropyStream.write(chosen.qs, tag: UInt8(chosen.order), exceptions: chosen.exceptions, into: &w)
        return w.bytes
    }

    /// The grid index of `x` from `pred` and the value it stands for, nil where that value is not
    /// within `bound` of `x` (an exception: non-finite, too far, or rounded past the bound's edge).
    @inline(__always)
    static func onGrid(
        _ x: Double, _ pred: Double, _ step: Double, _ bound: ErrorBound, exactly: Bool = false
    ) -> (Int64, Double)? {
        let qd = roundedQuickly((x - pred) / step)
        guard qd.isFinite && abs(qd) < limit else { return nil }
        let q = Int64(qd)
        let candidate = pred + Double(q) * step
        let accepted = exactly ? candidate.bitPattern == x.bitPattern : bound.accepts(original: x, stored: candidate)
        return accepted ? (q, candidate) : nil
    }

    /// Quantises `v[range]` on the grid of `step` under `predict`, each index zig-zagged into `out`
    /// (a value the grid cannot hold within `bound` is an exception, index 0).
    /// - Returns: the indices' bit widths, summed (the estimate the encoder ranks predictors by).
    @inline(__always)
    static func quantize(
        _ v: UnsafeBufferPointer<Double>, _ range: Range<Int>, _ step: Double, _ bound: ErrorBound, _ exactly: Bool,
        _ exceptions: inout Exceptions, _ out: UnsafeMutablePointer<UInt64>, _ predict: (Double, Double) -> Double
    ) -> Int {
        var r1 = 0.0
        var r2 = 0.0
        var estimate = 0
        for i in range {
            let x = v[i]
            let pred = predict(r1, r2)
            var recon = x
            var q: Int64 = 0
            if let (index, candidate) = onGrid(x, pred, step, bound, exactly: exactly) {
                q = index
                recon = candidate
            } else {
                exceptions.add(i - range.lowerBound, x)
            }
            if !recon.isFinite { recon = pred }  // keep the predictor finite after NaN/inf
            let z = ZigZag.encode(q)
            estimate &+= 64 &- z.leadingZeroBitCount
            out[i &- range.lowerBound] = z
            r2 = r1
            r1 = recon
        }
        return estimate
    }

    /// A grid payload's step: derived from `bound` where the payload leaves it out, else read.
    static func readStep(_ r: inout ByteReader, stepFrom bound: ErrorBound?) throws(DecodeError) -> Double {
        let step: Double
        if let bound { step = QuantizedCodec.step(absolute: bound.absolute) } else { step = try r.f64("grid step") }
        guard step.isFinite, step > 0 else { throw DecodeError("bad grid step \(step)", offset: r.offset - 8) }
        return step
    }

    /// - Parameter stepFrom: the segment's bound when it is `stepFromBound` (the step is not stored).
    package static func decode(
        _ r: inout ByteReader, count: Int, stepFrom bound: ErrorBound? = nil, into out: inout [Double]
    ) throws(DecodeError) {
        let step = try readStep(&r, stepFrom: bound)
        let (tag, at, exceptions, zig) = try EntropyStream.read(&r, count: count, what: "predictor order")
        let order = Int(tag)
        guard (1...4).contains(order) else { throw DecodeError("predictor order \(order)", offset: at) }
        out.appendUninitialized(count: zig.count) { into in
            zig.withUnsafeBufferPointer { z in
                // One loop per predictor: the order's switch and the exceptions' bounds checks out
                // of the loop that decodes a value every few cycles.
                switch order {
                case 1: reconstruct(z, step: step, exceptions: exceptions, into: into) { r1, _ in r1 }
                case 2: reconstruct(z, step: step, exceptions: exceptions, into: into) { r1, r2 in (r1 + r1) - r2 }
                case 3: reconstruct(z, step: step, exceptions: exceptions, into: into) { r1, r2 in (r1 + r2) * 0.5 }
                default:
                    reconstruct(z, step: step, exceptions: exceptions, into: into) { r1, r2 in r1 + (r1 - r2) * 0.5 }
                }
            }
        }
    }

    /// The values from their zig-zagged grid residuals under `predict` (the encoder's four), the
    /// exceptions' bits in their places; a non-finite value predicts as its prediction did.
    @inline(__always)
    static func reconstruct(
        _ zig: UnsafeBufferPointer<UInt64>, step: Double, exceptions: Exceptions,
        into out: UnsafeMutablePointer<Double>, _ predict: (Double, Double) -> Double
    ) {
        var r1 = 0.0
        var r2 = 0.0
        var e = 0
        var next = exceptions.positions.first ?? Int.max
        for i in 0..<zig.count {
            let pred = predict(r1, r2)
            var recon = pred + Double(ZigZag.decode(zig[i])) * step
            if i == next {
                recon = Double(bitPattern: exceptions.bits[e])
                e += 1
                next = e < exceptions.count ? exceptions.positions[e] : Int.max
            }
            out[i] = recon
            if !recon.isFinite { recon = pred }
            r2 = r1
            r1 = recon
        }
    }
}
