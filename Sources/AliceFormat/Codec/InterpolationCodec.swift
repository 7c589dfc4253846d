/// Error-bounded coding by hierarchical interpolation, SZ3's scheme in one dimension: the first
/// value is coded on the grid from 0, then the midpoints of ever finer strides (2^k, 2^(k−1), …, 1)
/// are predicted from the already *reconstructed* values on both sides, and each prediction error
/// is rounded to the grid of step ≈ 2·bound (`QuantizedCodec.step`). Where a signal is a smooth
/// function sampled faster than it changes, a value between two known ones is predicted far better
/// than from its past alone, and the grid's own noise averages out instead of being extrapolated.
///
/// The grid indices go out coarse to fine, through the shared tail (`EntropyStream`) with the
/// method as the tag; values the grid cannot hold within the bound are exceptions, numbered in
/// that order. Encoder and decoder walk the same strides through one routine (`walk`), so every
/// prediction is the same floating-point expression on the same bits on both sides.
package enum InterpolationCodec {
    /// How a midpoint is predicted from its neighbours at ±stride (and ±3·stride).
    package enum Method: UInt8, CaseIterable {
        /// The mean of the two neighbours.
        case linear = 1
        /// The cubic through four neighbours (−1, 9, 9, −1)/16, quadratic near the ends.
        case cubic = 2
    }

    /// - Parameters:
    ///   - writeStep: write the step even where the bound gives it (as `QuantizedCodec`).
    ///   - methods: the methods tried (the smaller estimate is written).
    /// - Returns: nil where the grid does not apply (no finite step, fewer than three values, or
    ///   more than a quarter exceptions).
    /// - Complexity: O(n) per method, two methods.
    package static func encode(
        _ v: UnsafeBufferPointer<Double>, _ range: Range<Int>, bound: ErrorBound, writeStep: Bool = false,
        methods: [Method] = Method.allCases
    ) -> [UInt8]? {
        let n = range.count
        let step = QuantizedCodec.step(v, range, bound: bound)
        guard n > 2, step > 0, step.isFinite else { return nil }
        var best: (method: Method, estimate: Int, qs: [UInt64], exceptions: Exceptions)? = nil
        var recon = [Double](repeating: 0, count: n)
        for method in methods {
            var qs = [UInt64]()
            var exceptions = Exceptions()
            var estimate = recon.withUnsafeMutableBufferPointer { r in
                qs.appendUninitialized(count: n) { out in
                    quantize(v, range, step, bound, method, &exceptions, r.baseAddress!, out)
                }
            }
            estimate += exceptions.count * 80
            if exceptions.count > n / 4 { continue }
            if best == nil || estimate < best!.estimate { best = (method, estimate, qs, exceptions) }
        }
        guard let chosen = best else { return nil }
        var w = ByteWriter(capacity: n / 2 + 32)
        if writeStep || !QuantizedCodec.stepFromBound(bound) { w.f64(step) }
        EntropyStream.write(chosen.qs, tag: chosen.method.rawValue, exceptions: chosen.exceptions, into: &w)
        return w.bytes
    }

    /// Quantises `v[range]` in `walk` order: the zig-zagged grid index of each value goes to
    /// `out` in the order visited, a value the grid cannot hold within `bound` is an exception
    /// (index 0) numbered in that order, and `r` gets the reconstruction the decoder will see.
    /// - Returns: the indices' bit widths, summed (what the encoder ranks the methods by).
    static func quantize(
        _ v: UnsafeBufferPointer<Double>, _ range: Range<Int>, _ step: Double, _ bound: ErrorBound, _ method: Method,
        _ exceptions: inout Exceptions, _ r: UnsafeMutablePointer<Double>, _ out: UnsafeMutablePointer<UInt64>
    ) -> Int {
        var estimate = 0
        var k = 0
        let base = range.lowerBound
        walk(range.count, method, r) { i, pred in
            let x = v[base &+ i]
            var q: Int64 = 0
            var value = x
            if let (index, candidate) = QuantizedCodec.onGrid(x, pred, step, bound) {
                q = index
                value = candidate
            } else {
                exceptions.add(k, x)
            }
            let z = ZigZag.encode(q)
            estimate &+= 64 &- z.leadingZeroBitCount
            out[k] = z
            k &+= 1
            return value.isFinite ? value : (pred.isFinite ? pred : 0)
        }
        return estimate
    }

    /// - Parameter stepFrom: the segment's bound when it is `QuantizedCodec.stepFromBound`.
    package static func decode(
        _ r: inout ByteReader, count: Int, stepFrom bound: ErrorBound? = nil, into out: inout [Double]
    ) throws(DecodeError) {
        let step = try QuantizedCodec.readStep(&r, stepFrom: bound)
        let (tag, at, exceptions, zig) = try EntropyStream.read(&r, count: count, what: "interpolation method")
        guard let method = Method(rawValue: tag) else { throw DecodeError("interpolation method \(tag)", offset: at) }
        guard count > 0 else { return }
        let base = out.count
        out.appendUninitialized(count: count) { into in
            zig.withUnsafeBufferPointer { z in
                var k = 0
                var e = 0
                var next = exceptions.positions.first ?? Int.max
                walk(count, method, into) { _, pred in
                    var value = pred + Double(ZigZag.decode(z[k])) * step
                    if k == next {
                        value = Double(bitPattern: exceptions.bits[e])
                        e += 1
                        next = e < exceptions.count ? exceptions.positions[e] : Int.max
                    }
                    k &+= 1
                    return value.isFinite ? value : (pred.isFinite ? pred : 0)
                }
            }
        }
        // The walk kept a finite stand-in where a value is NaN or ±inf; its exact bits go in now.
        guard !exceptions.positions.isEmpty else { return }
        var order = [Int]()
        order.reserveCapacity(count)
        walk(count, method, nil) { i, _ in
            order.append(i)
            return 0
        }
        for (p, b) in zip(exceptions.positions, exceptions.bits) where !Double(bitPattern: b).isFinite {
            out[base + order[p]] = Double(bitPattern: b)
        }
    }

    /// The method of a payload `encode` wrote, its step left out (`stepLeftOut`) or not; nil where
    /// the tag byte names none.
    package static func method(of payload: ArraySlice<UInt8>, stepLeftOut: Bool) -> Method? {
        let at = payload.startIndex + (stepLeftOut ? 0 : 8)
        return at < payload.endIndex ? Method(rawValue: payload[at] & 0x0F) : nil
    }

    /// Visits indices 0..<n coarse to fine: 0, then for each stride h = 2^k ≤ n − 1 down to 1 the
    /// indices h, 3h, 5h, … below n. `visit(i, prediction)` returns the value to store at `r[i]`
    /// (reconstructed, finite); the prediction uses only indices visited before `i`. With `r` nil,
    /// only the order is visited (predictions 0).
    @inline(__always)
    static func walk(
        _ n: Int, _ method: Method, _ r: UnsafeMutablePointer<Double>?, _ visit: (Int, Double) -> Double
    ) {
        guard n > 0 else { return }
        guard let r else {
            _ = visit(0, 0)
            var h = topStride(n)
            while h >= 1 {
                var i = h
                while i < n {
                    _ = visit(i, 0)
                    i &+= 2 &* h
                }
                h >>= 1
            }
            return
        }
        r[0] = visit(0, 0)
        var h = topStride(n)
        let cubic = method == .cubic
        while h >= 1 {
            let h2 = 2 &* h
            let h3 = 3 &* h
            var i = h
            while i < n {
                let pred: Double
                if i &+ h >= n {
                    // No right neighbour: a line through the two on the left, or the one there.
                    pred = i >= h3 ? 1.5 * r[i &- h] - 0.5 * r[i &- h3] : r[i &- h]
                } else if !cubic {
                    pred = (r[i &- h] + r[i &+ h]) * 0.5
                } else if i >= h3 && i &+ h3 < n {
                    pred = (9 * (r[i &- h] + r[i &+ h]) - (r[i &- h3] + r[i &+ h3])) * 0.0625
                } else if i &+ h3 < n {
                    pred = (3 * r[i &- h] + 6 * r[i &+ h] - r[i &+ h3]) * 0.125
                } else if i >= h3 {
                    pred = (6 * r[i &- h] + 3 * r[i &+ h] - r[i &- h3]) * 0.125
                } else {
                    pred = (r[i &- h] + r[i &+ h]) * 0.5
                }
                r[i] = visit(i, pred)
                i &+= h2
            }
            h >>= 1
        }
    }

    /// The coarsest stride: the highest power of two not above n − 1 (0 for one value).
    static func topStride(_ n: Int) -> Int {
        n < 2 ? 0 : 1 << (Int.bitWidth - 1 - (n - 1).leadingZeroBitCount)
    }
}
