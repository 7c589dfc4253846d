/// Lossless coding of decimal sensor values as integers (the idea of ALP and Elf).
///
/// Most sensors print a fixed number of decimals. If a value `v` equals `Double(k) / 10^e`
/// bit for bit for an integer `k`, the segment stores `e` (the one that minimises the estimated
/// size: values with more decimals are stored rounded to `e` plus a short refinement) and the
/// `k`s — predicted from their
/// predecessors (order 0, 1 or 2, whichever is smallest), Rice- or range-coded. Values that do not fit
/// (NaN, ±inf, -0.0, more digits) are exceptions stored with their exact bits.
package enum DecimalCodec {
    static let maxExponent = 18
    static let limit = 9_007_199_254_740_992.0  // 2^53: integers exactly representable

    @inline(__always)
    static func integer(_ v: Double, _ e: Int) -> Int64? {
        let p = PowersOfTen.table[e]
        let k = roundedQuickly(v * p)
        guard abs(k) < limit else { return nil }
        let ki = Int64(k)
        return (Double(ki) / p).bitPattern == v.bitPattern ? ki : nil
    }

    /// In the exponent byte: a list of refined values follows it.
    static let refinedFlag: UInt8 = 0x80
    static let integerPowers: [Int64] = (0...maxExponent).map { e in (0..<e).reduce(Int64(1)) { p, _ in p * 10 } }

    /// A value with `d` more decimals than the segment's exponent: the stream holds it rounded to
    /// the exponent (so prediction runs on), this the rest: `k_f = k_stream · 10^d + rest`.
    struct Refinement {
        var position: Int
        var extra: Int
        var rest: Int64
    }

    /// The decimals each value of `v[range]` needs to be `Double(k) / 10^e` bit for bit (0...18), or
    /// `maxExponent + 1` when none do (NaN, ±inf, -0.0, too many digits).
    package static func decimals(_ v: UnsafeBufferPointer<Double>, _ range: Range<Int>) -> [UInt8] {
        var need = [UInt8](repeating: UInt8(maxExponent + 1), count: range.count)
        // The exponents that fit a value are a run (f, f + 1, … up to 2^53): starting from the
        // previous value's, a series whose values share their decimals needs two tries a value.
        var guess = 0
        for i in range {
            let x = v[i]
            guard x.bitPattern != (-0.0).bitPattern && x.isFinite else { continue }
            var f = 0
            if integer(x, guess) != nil {
                f = guess
                while f > 0 && integer(x, f - 1) != nil { f -= 1 }
            } else {
                while f <= maxExponent && integer(x, f) == nil { f += 1 }
            }
            need[i - range.lowerBound] = UInt8(f)
            if f <= maxExponent { guess = f }
        }
        return need
    }

    /// - Parameter decimals: `decimals(v, range)`, when the caller has it already.
    package static func encode(_ v: UnsafeBufferPointer<Double>, _ range: Range<Int>, decimals: [UInt8]? = nil)
        -> [UInt8]?
    {
        let n = range.count
        guard n > 0 else { return nil }
        let need = decimals ?? Self.decimals(v, range)
        var needs = [Int](repeating: 0, count: maxExponent + 2)
        for f in need { needs[Int(f)] += 1 }
        guard needs[maxExponent + 1] <= n / 8 else { return nil }
        // Raising every value's exponent costs ~3.3 bits a point per decimal; a value with more
        // decimals than the exponent costs a refinement (~24 bits + 3.3 per extra decimal).
        var e = 0
        var bestCost = Double.infinity
        for f in 0...maxExponent {
            var cost = Double(f) * 3.32 * Double(n)
            var refined = 0
            for g in stride(from: f + 1, through: maxExponent, by: 1) where needs[g] > 0 {
                cost += Double(needs[g]) * (24 + 3.32 * Double(g - f))
                refined += needs[g]
            }
            if refined <= n / 2 && cost < bestCost {
                bestCost = cost
                e = f
            }
        }
        if bestCost == .infinity { return nil }
        var ks = [Int64]()
        ks.reserveCapacity(n)
        var exceptions = Exceptions()
        var refinements = [Refinement]()
        var last: Int64 = 0
        for i in range {
            let j = i - range.lowerBound
            let f = Int(need[j])
            if f <= e, let k = integer(v[i], e) {
                ks.append(k)
                last = k
            } else if f > e && f <= maxExponent, let kf = integer(v[i], f) {
                // (A value that needs fewer decimals but does not fit at `e`, too large for 2^53
                // there, falls through to the exceptions.)
                let near = roundedQuickly(v[i] * PowersOfTen.table[e])
                let scale = integerPowers[f - e]
                guard abs(near) < limit else { return nil }
                let k = Int64(near)
                let (scaled, overflow) = k.multipliedReportingOverflow(by: scale)
                guard !overflow else { return nil }
                refinements.append(Refinement(position: j, extra: f - e, rest: kf &- scaled))
                ks.append(k)
                last = k
            } else {
                exceptions.add(j, v[i])
                ks.append(last)
            }
        }
        var w = ByteWriter(capacity: n + 16 + refinements.count * 4)
        w.u8(UInt8(e) | (refinements.isEmpty ? 0 : refinedFlag))
        if !refinements.isEmpty {
            w.varint(UInt64(refinements.count))
            var previous = 0
            for r in refinements {
                w.varint(UInt64(r.position - previous))
                previous = r.position
                w.u8(UInt8(r.extra))
                w.svarint(r.rest)
            }
        }
        Predictor.writeStream(ks, exceptions: exceptions, into: &w)
        return w.bytes
    }

    package static func decode(_ r: inout ByteReader, count: Int, into out: inout [Double]) throws(DecodeError) {
        let flags = try r.u8("decimal exponent")
        let e = Int(flags & ~refinedFlag)
        guard e <= maxExponent else { throw DecodeError("decimal exponent \(e) too large", offset: r.offset - 1) }
        var refinements = [Refinement]()
        if flags & refinedFlag != 0 {
            let m = try r.count("refined values", limit: count)
            var position = 0
            for i in 0..<m {
                position += try r.count("refined position", limit: count)
                guard position < count, i == 0 || position > refinements[i - 1].position else {
                    throw DecodeError("refined position \(position) out of order or range", offset: r.offset)
                }
                let extra = Int(try r.u8("extra decimals"))
                guard extra >= 1 && e + extra <= maxExponent else {
                    throw DecodeError("extra decimals \(extra)", offset: r.offset - 1)
                }
                refinements.append(Refinement(position: position, extra: extra, rest: try r.svarint("refined rest")))
            }
        }
        let (ks, exceptions) = try Predictor.readStream(&r, count: count)
        let base = out.count
        let p = PowersOfTen.table[e]
        out.appendUninitialized(count: ks.count) { o in
            ks.withUnsafeBufferPointer { k in
                for i in 0..<k.count { o[i] = Double(k[i]) / p }
            }
        }
        for f in refinements {
            let (scaled, o1) = ks[f.position].multipliedReportingOverflow(by: integerPowers[f.extra])
            let (kf, o2) = scaled.addingReportingOverflow(f.rest)
            guard !o1 && !o2 else { throw DecodeError("refined value overflows", offset: r.offset) }
            out[base + f.position] = Double(kf) / PowersOfTen.table[e + f.extra]
        }
        exceptions.apply(to: &out, base: base)
    }
}

/// Integer prediction shared by the integer codecs: residual = k - prediction, zig-zagged.
package enum Predictor {
    @inline(__always)
    static func predict(_ order: Int, _ p1: Int64, _ p2: Int64) -> Int64 {
        switch order {
        case 0: return 0
        case 1: return p1
        default: return (p1 &* 2) &- p2
        }
    }

    /// The most a stream's order may be: 2 for readings (their noise outweighs any higher
    /// difference), up to `smoothOrder` for the ordinal codec's computed values, whose
    /// differences keep shrinking to the fifth or sixth (a noiseless sine in full precision).
    package static let smoothOrder = 6

    /// Residuals under the order (0 … `maxOrder`) whose estimated cost is smallest: the magnitudes'
    /// bit widths plus the signs' entropy. (The widths of the zig-zagged residuals charged every
    /// residual of a one-sided stream a sign bit, which the range coder learns to code for nothing:
    /// a counter's increments then lost to its second differences, 13 % larger.) Order k's residuals
    /// are the k-th differences with zeros before the first integer, so order ≤ 2 is `predict`.
    package static func bestResiduals(_ ks: [Int64], maxOrder: Int = 2) -> (order: Int, residuals: [UInt64]) {
        var best = (order: 0, bits: Double.infinity, residuals: ks)
        var d = ks
        for order in 0...maxOrder {
            if order > 0 {
                var previous: Int64 = 0
                for i in d.indices {
                    let x = d[i]
                    d[i] = x &- previous
                    previous = x
                }
            }
            var widths = 0
            var negative = 0
            var positive = 0
            for r in d {
                widths += 64 - r.magnitude.leadingZeroBitCount
                if r < 0 { negative += 1 } else if r > 0 { positive += 1 }
            }
            let bits = Double(widths) + signEntropy(negative, positive)
            if bits < best.bits { best = (order, bits, d) }
        }
        return (best.order, best.residuals.map(ZigZag.encode))
    }

    /// Bits the signs of `negative + positive` residuals cost at their empirical entropy.
    static func signEntropy(_ negative: Int, _ positive: Int) -> Double {
        let n = Double(negative + positive)
        guard negative > 0 && positive > 0 else { return 0 }
        let a = Double(negative)
        let b = Double(positive)
        return -(a * _log2(a / n) + b * _log2(b / n))
    }

    /// Writes `u8 order (| 0x80: range-coded), exceptions, residuals` — the tail of every integer
    /// codec, under the order whose estimate is smallest.
    /// Orders above 2 code their widths without levels (a level needs the order's prediction).
    package static func writeStream(
        _ ks: [Int64], exceptions: Exceptions, maxOrder: Int = 2, into w: inout ByteWriter
    ) {
        let (order, residuals) = bestResiduals(ks, maxOrder: maxOrder)
        EntropyStream.write(
            residuals, tag: UInt8(order), exceptions: exceptions, levelsOf: order <= 2 ? ks : nil, into: &w)
    }

    /// Reads what `writeStream` wrote (it runs to the end of `r`).
    package static func readStream(_ r: inout ByteReader, count: Int, maxOrder: Int = 2) throws(DecodeError) -> (
        ks: [Int64], exceptions: Exceptions
    ) {
        let (order, at, exceptions, zig) = try EntropyStream.read(&r, count: count, what: "predictor order")
        guard order <= maxOrder else { throw DecodeError("predictor order \(order)", offset: at) }
        var ks = [Int64]()
        ks.appendUninitialized(count: zig.count) { out in
            zig.withUnsafeBufferPointer { z in
                // One loop per order: no switch and no call per value.
                switch order {
                case 0: reconstruct(z, into: out) { _, _ in 0 }
                case 1: reconstruct(z, into: out) { p1, _ in p1 }
                case 2: reconstruct(z, into: out) { p1, p2 in (p1 &* 2) &- p2 }
                default:
                    // The k-th differences summed up k times (wrapping, as they were taken).
                    for i in 0..<z.count { out[i] = ZigZag.decode(z[i]) }
                    for _ in 0..<order {
                        var sum: Int64 = 0
                        for i in 0..<z.count {
                            sum = sum &+ out[i]
                            out[i] = sum
                        }
                    }
                }
            }
        }
        return (ks, exceptions)
    }

    /// The integers from their zig-zagged residuals under `predict` (`predict(order, …)`).
    @inline(__always)
    static func reconstruct(
        _ zig: UnsafeBufferPointer<UInt64>, into out: UnsafeMutablePointer<Int64>, _ predict: (Int64, Int64) -> Int64
    ) {
        var p1: Int64 = 0
        var p2: Int64 = 0
        for i in 0..<zig.count {
            let k = ZigZag.decode(zig[i]) &+ predict(p1, p2)
            out[i] = k
            p2 = p1
            p1 = k
        }
    }
}
