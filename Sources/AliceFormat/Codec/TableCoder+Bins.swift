/// How `TableCoder` splits the values into bins: every value falls in one of 496 fixed classes
/// (0…15 alone, then each bit width 5…64 in eight slices by the three bits after the leading one,
/// a log-linear histogram that needs no sort), and a bin is a run of neighbouring classes, chosen
/// by an exact dynamic program over the classes present: a bin costs its entry in the stream's
/// header, and each value in it its ANS share (−log2 of the bin's frequency) plus its offset bits.
extension TableCoder {
    /// A bin: the values `lower ... lower + 2^offsetBits − 1` (at most), coded as the bin's symbol
    /// and `value − lower` in `offsetBits` raw bits. Covers classes `first...last`.
    struct Bin: Equatable {
        var first: Int
        var last: Int
        var weight = 1

        var lower: UInt64 { TableCoder.classLower(first) }
        var offsetBits: Int { TableCoder.offsetBits(first, last) }
    }

    /// The offset bits of a bin over classes `first...last`: the bit width of its span.
    static func offsetBits(_ first: Int, _ last: Int) -> Int {
        64 - (classUpper(last) - classLower(first)).leadingZeroBitCount
    }

    static let classCount = 16 + 60 * 8

    /// The class of a value: itself below 16, else 16 + (width − 5) · 8 + the three bits after
    /// its leading one.
    @inline(__always)
    static func classOf(_ v: UInt64) -> Int {
        if v < 16 { return Int(v) }
        let w = 64 - v.leadingZeroBitCount
        return 16 &+ (w &- 5) &* 8 &+ Int(truncatingIfNeeded: (v >> UInt64(w &- 4)) & 7)
    }

    static func classLower(_ c: Int) -> UInt64 {
        if c < 16 { return UInt64(c) }
        let w = (c - 16) / 8 + 5
        return UInt64(8 + (c - 16) % 8) << UInt64(w - 4)
    }

    static func classUpper(_ c: Int) -> UInt64 {
        if c < 16 { return UInt64(c) }
        let w = (c - 16) / 8 + 5
        return classLower(c) + ((1 << UInt64(w - 4)) - 1)
    }

    /// Header bits a bin costs besides its weight (its class gap and span, as varints).
    static let binHeaderBits = 16.0

    /// The bins for a histogram of classes (`counts`, `classCount` long, `total` values), with
    /// their ANS weights quantised to `2^sizeLog`. One bin (no ANS at all) is kept when it costs
    /// at most 1/32 bit a value more than the best split: its decoding is a plain bit unpacking.
    static func chooseBins(counts: [Int], total: Int) -> (bins: [Bin], sizeLog: Int) {
        let present = (0..<classCount).filter { counts[$0] > 0 }
        guard present.count > 1 else { return ([Bin(first: present.first ?? 0, last: present.first ?? 0)], 0) }
        var cumulative = [0]
        cumulative.reserveCapacity(present.count + 1)
        for c in present { cumulative.append(cumulative.last! + counts[c]) }
        let n = Double(total)
        let log2n = fastLog2(n)
        // Each value's ANS share is log2(n / count); a bin's header is `binHeaderBits` plus its weight.
        @inline(__always) func cost(_ j: Int, _ i: Int) -> Double {
            let c = Double(cumulative[i + 1] - cumulative[j])
            return binHeaderBits + 8 + c * (log2n - fastLog2(c) + Double(offsetBits(present[j], present[i])))
        }
        let m = present.count
        var best = [Double](repeating: 0, count: m + 1)
        var from = [Int](repeating: 0, count: m + 1)
        for i in 0..<m {
            var b = Double.infinity
            var arg = 0
            for j in 0...i {
                let c = best[j] + cost(j, i)
                if c < b {
                    b = c
                    arg = j
                }
            }
            best[i + 1] = b
            from[i + 1] = arg
        }
        let single = cost(0, m - 1) - 8
        if single <= best[m] + n / 32 { return ([Bin(first: present[0], last: present[m - 1])], 0) }
        var bins: [Bin] = []
        var i = m
        while i > 0 {
            let j = from[i]
            var bin = Bin(first: present[j], last: present[i - 1])
            bin.weight = cumulative[i] - cumulative[j]  // the count, until quantised
            bins.append(bin)
            i = j
        }
        bins.reverse()
        let sizeLog = quantizeWeights(&bins, total: total)
        return (bins, sizeLog)
    }

    /// Replaces the bins' counts by ANS weights that sum to a power of two (every bin at least 1,
    /// the rest shared in proportion), at most `2^maxSizeLog`; returns that power.
    static func quantizeWeights(_ bins: inout [Bin], total: Int) -> Int {
        let needed = 64 - (bins.count - 1).leadingZeroBitCount  // ceil(log2(count))
        let wanted = 64 - (total - 1).leadingZeroBitCount
        var sizeLog = min(maxSizeLog, max(needed, wanted))
        let t = 1 << sizeLog
        let surplus = Double(t - bins.count)
        let shares = bins.map { max(0, Double($0.weight) * Double(t) / Double(total) - 1) }
        let shareSum = shares.reduce(0, +)
        var sum = 0
        for k in bins.indices {
            let extra = shareSum > 0 ? (shares[k] * surplus / shareSum).rounded() : 0
            bins[k].weight = 1 + Int(extra)
            sum += bins[k].weight
        }
        // Rounding leaves the sum a little off: take from (or give to) the largest weights.
        while sum != t {
            let k = bins.indices.max { bins[$0].weight < bins[$1].weight }!
            if sum > t {
                let take = min(sum - t, bins[k].weight - 1)
                bins[k].weight -= take
                sum -= take
            } else {
                bins[k].weight += t - sum
                sum = t
            }
        }
        // Weights all even: a smaller table codes the same.
        var shift = bins.map { $0.weight.trailingZeroBitCount }.min()!
        shift = min(shift, sizeLog)
        if shift > 0 {
            for k in bins.indices { bins[k].weight >>= shift }
            sizeLog -= shift
        }
        return sizeLog
    }

    /// log2 of a positive number within about 0.01: the exponent, and a quadratic over the mantissa.
    @inline(__always)
    static func fastLog2(_ x: Double) -> Double {
        let bits = x.bitPattern
        let exponent = Double(Int((bits >> 52) & 0x7FF) - 1023)
        let m = Double(bitPattern: (bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000)  // 1 ≤ m < 2
        return exponent + (-0.339_850 * m + 2.019_550) * m - 1.679_700
    }
}
