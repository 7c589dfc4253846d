/// Error-bounded coding of decimal readings on their own lattice: a sensor that prints `e` decimals
/// only ever reports multiples of `d = 10^−e`, so a bound `ε` may merge `k = ⌊2ε/d⌋ + 1`
/// neighbouring readings into one cell — the farthest is `(k − 1)·d/2 ≤ ε` from the cell's centre —
/// where a grid blind to the lattice (`QuantizedCodec`) has cells of `2ε`. Cells of `k·d` instead of
/// `2ε` save `log2(k·d / 2ε)` bits a point: a whole-degree thermometer under a bound of 0.61 °C
/// (1 % of `beijing_temp`'s range) gets cells of 2 degrees instead of 1.22, 25 % fewer bytes.
///
/// Each reading is taken as the integer `n = round(v · 10^e)`; the cell is chosen around a
/// prediction from the reconstructed values before it (`QuantizedCodec`'s four predictors), all in
/// integers: reconstructions are `R / 2` lattice units (a cell of even `k` centres between two
/// readings), so encoder and decoder agree exactly, and the one floating-point step,
/// `Double(R) / (2 · 10^e)`, is the value every point is checked with. A point that fails the
/// bound there (a value off the lattice, rounding at exactly `ε`) is an exception with exact bits.
package enum LatticeCodec {
    /// Reconstructions stay below 2^53, where every integer is a Double.
    static let limit: Int64 = 1 << 51
    /// Largest cell in lattice units. With more than this many readings a cell the gain over a grid
    /// of `2ε` is below 1/64 (0.02 bit a point) and the lattice is left to `QuantizedCodec`.
    static let maxCell = 64
    /// The least cell-to-`2ε` ratio worth a candidate's encoding time (≥ 0.014 bit a point).
    static let minGain = 1.01

    /// The lattice of `v[range]` under `bound`: the decimals `e` that 255 of 256 finite values need at
    /// most, and the cell size `k` (2…`maxCell`) in units of `10^−e`; `nil` where no lattice gains.
    /// - Parameter decimals: `Float32Codec.readingDecimals(v, range)` (a float32 reading widened to a
    ///   double counts its view's decimals).
    package static func lattice(
        _ v: UnsafeBufferPointer<Double>, _ range: Range<Int>, bound: ErrorBound, decimals: [UInt8]
    ) -> (e: Int, k: Int)? {
        guard !bound.isLossless, !range.isEmpty else { return nil }
        var needs = [Int](repeating: 0, count: DecimalCodec.maxExponent + 2)
        for f in decimals { needs[Int(f)] += 1 }
        let finite = range.count - needs[DecimalCodec.maxExponent + 1]
        guard finite > range.count / 2 else { return nil }
        var covered = 0
        var e = 0
        while e <= DecimalCodec.maxExponent {
            covered += needs[e]
            if covered * 256 >= finite * 255 { break }
            e += 1
        }
        guard e <= DecimalCodec.maxExponent else { return nil }
        // The smallest error allowed anywhere in the segment, as for the grid.
        let epsilon = QuantizedCodec.smallestAllowed(v, range, bound: bound)
        let twoEpsilon = 2 * epsilon * PowersOfTen.table[e]  // 2ε in lattice units
        guard twoEpsilon.isFinite, twoEpsilon >= 1, twoEpsilon < Double(maxCell) else { return nil }
        let k = Int(twoEpsilon.rounded(.down)) + 1
        guard Double(k) >= twoEpsilon * minGain else { return nil }
        return (e, k)
    }

    /// The prediction, in half lattice units, from the two reconstructions before (`QuantizedCodec`'s
    /// predictors in integers: previous, linear, mean of two, damped trend).
    @inline(__always)
    static func predict(_ order: Int, _ r1: Int64, _ r2: Int64) -> Int64 {
        switch order {
        case 1: r1
        case 2: (r1 &* 2) &- r2
        case 3: (r1 &+ r2) >> 1
        default: r1 &+ ((r1 &- r2) >> 1)
        }
    }

    /// The lowest reading of the cell of `k` readings centred nearest the prediction `p2` (half units).
    @inline(__always)
    static func cellBase(_ p2: Int64, _ k: Int64) -> Int64 { (p2 &- k &+ 2) >> 1 }

    /// The reconstruction, in half lattice units, of cell `q` of size `k` from a cell base: the
    /// centre of its readings `base + q·k … base + q·k + k − 1`. Wrapping: the decoder sees untrusted `q`.
    @inline(__always)
    static func centre(_ base: Int64, _ q: Int64, _ k: Int64) -> Int64 { (base &+ q &* k) &* 2 &+ (k - 1) }

    /// `⌊a / b⌋` for `b > 0`.
    @inline(__always)
    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && a < 0) ? q - 1 : q
    }

    package static func encode(_ v: UnsafeBufferPointer<Double>, _ range: Range<Int>, bound: ErrorBound) -> [UInt8]? {
        let n = range.count
        guard n > 0, let (e, k0) = lattice(v, range, bound: bound, decimals: Float32Codec.readingDecimals(v, range))
        else { return nil }
        // Readings as lattice integers (a value too large or not finite: an exception, reading 0).
        let p = PowersOfTen.table[e]
        var readings = [Int64](repeating: 0, count: n)
        var usable = [Bool](repeating: false, count: n)
        for i in range {
            let x = v[i] * p
            guard x.isFinite, abs(x) < Double(limit) else { continue }
            readings[i - range.lowerBound] = Int64(roundedQuickly(x))
            usable[i - range.lowerBound] = true
        }
        // A cell of exactly 2ε reaches the bound at its edges, where the decimal and binary roundings
        // decide; if that makes many exceptions, one reading less a cell.
        for k in stride(from: k0, through: max(2, k0 - 1), by: -1) {
            let order = cheapestOrder(readings, k: Int64(k))
            var qs = [UInt64]()
            qs.reserveCapacity(n)
            var exceptions = Exceptions()
            let twoP = 2 * p
            let k = Int64(k)
            var r1: Int64 = 0
            var r2: Int64 = 0
            for j in 0..<n {
                let base = cellBase(predict(order, r1, r2), k)
                var q: Int64 = 0
                if usable[j] {
                    q = floorDivide(readings[j] &- base, k)
                    let r = centre(base, q, k)
                    if r.magnitude >= UInt64(limit)
                        || !bound.accepts(original: v[range.lowerBound + j], stored: Double(r) / twoP)
                    {
                        q = 0
                        exceptions.add(j, v[range.lowerBound + j])
                    }
                } else {
                    exceptions.add(j, v[range.lowerBound + j])
                }
                qs.append(ZigZag.encode(q))
                (r2, r1) = (r1, centre(base, q, k))
            }
            if exceptions.count > n / 64 && k > 2 && k == Int64(k0) { continue }
            if exceptions.count > n / 4 { return nil }
            var w = ByteWriter(capacity: n / 2 + 32)
            w.u8(UInt8(e))
            w.varint(UInt64(k))
            EntropyStream.write(qs, tag: UInt8(order), exceptions: exceptions, into: &w)
            return w.bytes
        }
        return nil
    }

    /// Readings the predictor is chosen on: the first of a range (a sensor's noise and drift change
    /// slowly; choosing on all 16 384 took as long as coding them).
    static let orderSample = 2048

    /// The predictor whose cell indices have the fewest bits in all (exceptions left aside).
    static func cheapestOrder(_ readings: [Int64], k: Int64) -> Int {
        var best = (order: 1, bits: Int.max)
        for order in 1...4 {
            var r1: Int64 = 0
            var r2: Int64 = 0
            var bits = 0
            for n in readings.prefix(orderSample) {
                let base = cellBase(predict(order, r1, r2), k)
                let q = floorDivide(n &- base, k)
                bits += 64 - ZigZag.encode(q).leadingZeroBitCount
                (r2, r1) = (r1, centre(base, q, k))
            }
            if bits < best.bits { best = (order, bits) }
        }
        return best.order
    }

    package static func decode(_ r: inout ByteReader, count: Int, into out: inout [Double]) throws(DecodeError) {
        let e = Int(try r.u8("lattice decimals"))
        guard e <= DecimalCodec.maxExponent else {
            throw DecodeError("lattice decimals \(e) too many", offset: r.offset - 1)
        }
        let at = r.offset
        let cell = try r.varint("lattice cell")
        guard cell >= 2 && cell <= UInt64(maxCell) else { throw DecodeError("lattice cell \(cell)", offset: at) }
        let k = Int64(cell)
        let (tag, tagAt, exceptions, zig) = try EntropyStream.read(&r, count: count, what: "predictor order")
        let order = Int(tag)
        guard (1...4).contains(order) else { throw DecodeError("predictor order \(order)", offset: tagAt) }
        let twoP = 2 * PowersOfTen.table[e]
        let base0 = out.count
        var r1: Int64 = 0
        var r2: Int64 = 0
        for z in zig {
            // Wrapping arithmetic: a corrupt stream gives wrong values, never a trap.
            let base = cellBase(predict(order, r1, r2), k)
            let rec = centre(base, ZigZag.decode(z), k)
            out.append(Double(rec) / twoP)
            (r2, r1) = (r1, rec)
        }
        exceptions.apply(to: &out, base: base0)
    }
}
