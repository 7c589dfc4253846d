/// The bitwise layout's adaptive probabilities (11-bit, LZMA's), and how one value goes through
/// them: a zero flag under the two previous size classes; for a magnitude `m > 0` its bit width − 1
/// (1…64) through a 6-level bit tree, the bit after the leading one adaptively, the remaining bits
/// directly, then the sign. Timestamp modes 4 and 5 and the integer streams written before the tree
/// layout use it; `RangeCoder` drives it value by value.
struct BitwiseModel {
    var zero = [UInt16](repeating: RangeCoder.probInit, count: 16)
    var width = [UInt16](repeating: RangeCoder.probInit, count: 4 * 64)
    var mantissa = [UInt16](repeating: RangeCoder.probInit, count: 4 * 65)
    var sign = [UInt16](repeating: RangeCoder.probInit, count: 9)

    /// Codes one value (its magnitude and sign) in the contexts `h` gives.
    @inline(__always)
    mutating func encode(_ mag: UInt64, negative: Bool, _ h: RangeCoder.History, into e: inout RangeEncoder) {
        let c = h.c1
        e.bit(&zero[c * 4 + h.c2], mag != 0)
        guard mag != 0 else { return }
        let w = 64 - mag.leadingZeroBitCount  // 1…64
        // Bit tree over w − 1 (6 bits), most significant first: nodes 1…63 index the model.
        var node = 1
        for level in stride(from: 5, through: 0, by: -1) {
            let b = ((w - 1) >> level) & 1 == 1
            e.bit(&width[c * 64 + node], b)
            node = node << 1 | (b ? 1 : 0)
        }
        if w >= 2 {
            e.bit(&mantissa[c * 65 + w], (mag >> UInt64(w - 2)) & 1 == 1)
            if w >= 3 {
                for k in stride(from: w - 3, through: 0, by: -1) { e.direct((mag >> UInt64(k)) & 1 == 1) }
            }
        }
        e.bit(&sign[h.signContext(mag)], negative)
    }

    /// What `encode` wrote in the same contexts.
    @inline(__always)
    mutating func decode(_ h: RangeCoder.History, from d: inout RangeDecoder) -> (magnitude: UInt64, negative: Bool) {
        let c = h.c1
        guard d.bit(&zero[c * 4 + h.c2]) else { return (0, false) }
        var node = 1
        for _ in 0..<6 { node = node << 1 | (d.bit(&width[c * 64 + node]) ? 1 : 0) }
        let w = node - 64 + 1
        var mag: UInt64 = 1
        if w >= 2 {
            mag = mag << 1 | (d.bit(&mantissa[c * 65 + w]) ? 1 : 0)
            if w >= 3 { for _ in 0..<(w - 2) { mag = mag << 1 | (d.direct() ? 1 : 0) } }
        }
        return (mag, d.bit(&sign[h.signContext(mag)]))
    }
}
