/// Adaptive Golomb–Rice coding of unsigned integers in blocks, the entropy coder under every
/// integer stream (decimal digits, quantised residuals, timestamp deltas).
///
/// Each block of `blockSize` values carries its own parameter `k` (6 bits), chosen to minimise
/// the block's exact size. A value whose quotient reaches `escapeQuotient` is written as an
/// escape: the unary prefix, 7 bits of width, then the value itself — so an outlier costs
/// ~80 bits instead of an unbounded unary run. A block of only zeros (a plateau, a quantised
/// signal that stays inside one grid step) is the parameter 63 alone: 6 bits for 64 values.
package enum RiceCodec {
    static let zeroBlock = 63
    package static let blockSize = 64
    static let escapeQuotient = 20

    @inline(__always)
    static func bitWidth(_ u: UInt64) -> Int { 64 - u.leadingZeroBitCount }

    @inline(__always)
    static func cost(_ u: UInt64, k: Int) -> Int {
        let q = u >> UInt64(k)
        return q < UInt64(escapeQuotient) ? Int(q) + 1 + k : escapeQuotient + 7 + bitWidth(u)
    }

    static func bestK(_ values: UnsafeBufferPointer<UInt64>, _ range: Range<Int>) -> (k: Int, bits: Int) {
        var sum: UInt64 = 0
        var overflow = false
        for i in range {
            let (s, o) = sum.addingReportingOverflow(values[i])
            sum = s
            overflow = overflow || o
        }
        let n = UInt64(range.count)
        let mean = overflow ? UInt64.max : sum / n
        if sum == 0 && !overflow { return (zeroBlock, 0) }
        let guess = max(0, bitWidth(mean) - 1)
        var best = (k: guess, bits: Int.max)
        for k in max(0, guess - 2)...min(zeroBlock - 1, guess + 2) {
            var bits = 0
            for i in range { bits += cost(values[i], k: k) }
            if bits < best.bits { best = (k, bits) }
        }
        return best
    }

    /// Exact size in bits of `values` under this coder.
    package static func sizeInBits(_ values: [UInt64]) -> Int {
        values.withUnsafeBufferPointer { p in
            var total = 0
            var i = 0
            while i < p.count {
                let end = min(p.count, i + blockSize)
                total += 6 + bestK(p, i..<end).bits
                i = end
            }
            return total
        }
    }

    package static func encode(_ values: [UInt64], into w: inout BitWriter) {
        values.withUnsafeBufferPointer { p in
            var i = 0
            while i < p.count {
                let end = min(p.count, i + blockSize)
                let k = bestK(p, i..<end).k
                w.write(UInt64(k), bits: 6)
                if k == zeroBlock {
                    i = end
                    continue
                }
                for j in i..<end {
                    let u = p[j]
                    let q = u >> UInt64(k)
                    if q < UInt64(escapeQuotient) {
                        w.writeUnary(Int(q))
                        w.write(u, bits: k)
                    } else {
                        w.write((1 << UInt64(escapeQuotient)) - 1, bits: escapeQuotient)
                        let width = bitWidth(u)
                        w.write(UInt64(width), bits: 7)
                        w.write(u, bits: width)
                    }
                }
                i = end
            }
        }
    }

    package static func decode(count: Int, from r: inout BitReader, into out: inout [UInt64]) throws(DecodeError) {
        var i = 0
        while i < count {
            let end = min(count, i + blockSize)
            let k = Int(try r.read(bits: 6))
            if k == zeroBlock {
                out.append(contentsOf: repeatElement(0, count: end - i))
                i = end
                continue
            }
            for _ in i..<end {
                let q = try r.readUnary(limit: escapeQuotient)
                if q < escapeQuotient {
                    let low = try r.read(bits: k)
                    out.append(UInt64(q) << UInt64(k) | low)
                } else {
                    let width = Int(try r.read(bits: 7))
                    if width > 64 { throw DecodeError("bad escape width \(width)", offset: 0) }
                    out.append(try r.read(bits: width))
                }
            }
            i = end
        }
    }
}
