/// Lossless coding of values printed with a fixed count of significant digits (`%.8g`, float32
/// readings, z-normalised signals): their number of decimals follows their magnitude, so one
/// decimal exponent wastes digits on the large values and cannot hold the small ones.
///
/// Every value is `Double(k) / 10^e` bit for bit for one exponent `e` (the finest any value needs)
/// and `k` has at most `s` significant digits. Such `k`s map one-to-one and in order onto
/// consecutive integers, their *ordinals* (`ordinal`): within a decade the step is that decade's
/// last digit. The stream holds each ordinal minus the ordinal of the value predicted from the
/// previous `k`s, so a point costs the digits it has, whatever its magnitude.
package enum SignificantCodec {
    /// Try it only where no single count of decimals covers this share of the points.
    static let dominantShare = 0.97
    static let limit: Int64 = 1 << 53

    /// Decimal digits of `a` (≥ 1; 0 ≤ `a` < 10^18).
    @inline(__always)
    static func digits(_ a: Int64) -> Int {
        // log10 from the bit width (1233/4096 ≈ log10 2), then one comparison to correct it.
        let d = ((64 - a.leadingZeroBitCount) &* 1233) >> 12
        return a >= DecimalCodec.integerPowers[d] ? d + 1 : max(d, 1)
    }

    /// The place of `k` among the integers of at most `s` significant digits (the nearest one
    /// for any other `k`), negative for negative `k`; `ordinal(0) == 0`.
    @inline(__always)
    static func ordinal(_ k: Int64, s: Int) -> Int64 {
        let a = k < 0 ? 0 &- k : k
        let whole = DecimalCodec.integerPowers[s]  // below 10^s every integer has ≤ s digits
        guard a >= whole else { return k }
        let j = digits(a) - s  // the unit 10^j of a's decade
        let unit = DecimalCodec.integerPowers[j]
        let first = DecimalCodec.integerPowers[s - 1]
        let m = (a + unit / 2) / unit  // first ... 10·first (the next decade's start)
        let o = whole &+ Int64(j - 1) &* (9 &* first) &+ (m &- first)
        return k < 0 ? 0 &- o : o
    }

    /// The integer at ordinal `o`; `nil` past 2^53.
    @inline(__always)
    static func integer(ordinal o: Int64, s: Int) -> Int64? {
        let a = o < 0 ? 0 &- o : o
        guard a >= 0 else { return nil }  // Int64.min
        let whole = DecimalCodec.integerPowers[s]
        var k = a
        if a >= whole {
            let first = DecimalCodec.integerPowers[s - 1]
            let j = (a - whole) / (9 * first) + 1
            guard j + Int64(s) <= 16 else { return nil }
            k = ((a - whole) % (9 * first) + first) * DecimalCodec.integerPowers[Int(j)]
        }
        guard k < limit else { return nil }
        return o < 0 ? -k : k
    }

    @inline(__always)
    static func predict(_ order: Int, _ p1: Int64, _ p2: Int64) -> Int64 {
        switch order {
        case 1: p1
        case 2: (p1 &* 2) &- p2
        default: (p1 &+ p2) >> 1
        }
    }

    /// - Parameter decimals: `DecimalCodec.decimals(v, range)`, when the caller has it already.
    /// - Parameter widths: the range coder's width coding, when the caller knows better (a sorted table).
    package static func encode(
        _ v: UnsafeBufferPointer<Double>, _ range: Range<Int>, decimals: [UInt8]? = nil,
        widths: RangeCoder.Widths? = nil
    ) -> [UInt8]? {
        let n = range.count
        guard n >= 16 else { return nil }
        // A series whose values all have (nearly) one count of decimals is the decimal codec's.
        let need = decimals ?? DecimalCodec.decimals(v, range)
        var needs = [Int](repeating: 0, count: DecimalCodec.maxExponent + 2)
        for f in need { needs[Int(f)] += 1 }
        guard let most = needs.max(), Double(most) < dominantShare * Double(n) else { return nil }
        // The exponent that leaves the fewest exceptions (more decimals, or past 2^53 there).
        var fitting = [Int](repeating: 0, count: DecimalCodec.maxExponent + 2)
        var top = 0
        for (j, f) in need.enumerated() where f <= DecimalCodec.maxExponent {
            // k·10^d / 10^(f+d) rounds to the same double as k / 10^f: only 2^53 limits the exponent.
            // The largest exponent at or above f that stays below 2^53, found from the previous
            // value's (neighbours have like magnitudes; `fits` is true up to some exponent, then false).
            // A product below 2^53 rounds below it (from 2^52 on it is an integer), so no rounding.
            let a = abs(v[range.lowerBound + j])
            @inline(__always) func fits(_ t: Int) -> Bool { a * PowersOfTen.table[t] < DecimalCodec.limit }
            top = min(max(top, Int(f)), DecimalCodec.maxExponent)
            while top > Int(f) && !fits(top) { top -= 1 }
            while top < DecimalCodec.maxExponent && fits(top + 1) { top += 1 }
            fitting[Int(f)] += 1
            fitting[top + 1] -= 1
        }
        var e = 0
        var best = -1
        var running = 0
        for f in 0...DecimalCodec.maxExponent {
            running += fitting[f]
            if running > best { (e, best) = (f, running) }
        }
        guard n - best <= n / 8 else { return nil }
        // Significant digits: each one more costs every point ~3.3 bits; a value with more
        // digits is an exception (~80 bits).
        var sig = [Int](repeating: 0, count: 20)  // 0: an exception at `e`
        var digitCount = [UInt8](repeating: 0, count: n)
        for (j, f) in need.enumerated() where f <= e {
            guard let k = DecimalCodec.integer(v[range.lowerBound + j], e) else { continue }
            var a = k < 0 ? -k : k
            while a != 0 && a % 10 == 0 { a /= 10 }
            let d = a == 0 ? 1 : digits(a)
            digitCount[j] = UInt8(d)
            sig[d] += 1
        }
        var s = 1
        var cost = Double.infinity
        var above = sig[1...].reduce(0, +)
        for t in 1...16 {
            above -= sig[t]
            let c = 3.32 * Double(t * n) + 80 * Double(above)
            if c < cost { (s, cost) = (t, c) }
        }
        guard n - sig[1...s].reduce(0, +) <= n / 8 else { return nil }
        var ks = [Int64]()
        ks.reserveCapacity(n)
        var exceptions = Exceptions()
        var last: Int64 = 0
        for (j, d) in digitCount.enumerated() {
            if d != 0 && Int(d) <= s, let k = DecimalCodec.integer(v[range.lowerBound + j], e) {
                last = k
            } else {
                exceptions.add(j, v[range.lowerBound + j])  // repeats the previous k in the stream
            }
            ks.append(last)
        }
        // The predictor whose errors are smallest in the integers themselves (a decade's unit
        // scales every order's error alike; ordinals cost a division each): then its ordinals.
        var order = 1
        var fewest = Int.max
        for o in 1...3 {
            var p1: Int64 = 0
            var p2: Int64 = 0
            var bits = 0
            for k in ks {
                bits += 64 - ZigZag.encode(k &- predict(o, p1, p2)).leadingZeroBitCount
                (p2, p1) = (p1, k)
            }
            if bits < fewest { (order, fewest) = (o, bits) }
        }
        var residuals = [UInt64]()
        residuals.reserveCapacity(n)
        var p1: Int64 = 0
        var p2: Int64 = 0
        for k in ks {
            residuals.append(ZigZag.encode(ordinal(k, s: s) &- ordinal(predict(order, p1, p2), s: s)))
            (p2, p1) = (p1, k)
        }
        let chosen = (order: order, residuals: residuals)
        var w = ByteWriter(capacity: n * 3)
        w.u8(UInt8(e))
        w.u8(UInt8(s))
        EntropyStream.write(
            chosen.residuals, tag: UInt8(chosen.order), exceptions: exceptions, widths: widths, into: &w)
        return w.bytes
    }

    package static func decode(_ r: inout ByteReader, count: Int, into out: inout [Double]) throws(DecodeError) {
        let e = Int(try r.u8("decimal exponent"))
        guard e <= DecimalCodec.maxExponent else {
            throw DecodeError("decimal exponent \(e) too large", offset: r.offset - 1)
        }
        let s = Int(try r.u8("significant digits"))
        guard (1...16).contains(s) else { throw DecodeError("significant digits \(s)", offset: r.offset - 1) }
        let (tag, at, exceptions, zig) = try EntropyStream.read(&r, count: count, what: "predictor order")
        let order = Int(tag)
        guard (1...3).contains(order) else { throw DecodeError("predictor order \(order)", offset: at) }
        let base = out.count
        let p = PowersOfTen.table[e]
        var p1: Int64 = 0
        var p2: Int64 = 0
        for z in zig {
            let o = ZigZag.decode(z) &+ ordinal(predict(order, p1, p2), s: s)
            guard let k = integer(ordinal: o, s: s) else {
                throw DecodeError("significant value past 2^53", offset: at)
            }
            out.append(Double(k) / p)
            (p2, p1) = (p1, k)
        }
        exceptions.apply(to: &out, base: base)
    }
}
