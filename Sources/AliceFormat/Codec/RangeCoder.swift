/// Adaptive binary range coding of unsigned integers (the scheme of LZMA's range coder: 11-bit
/// probabilities that adapt by 1/32 per bit), the alternative to `RiceCodec` where a stream is
/// mostly zeros and small values: Rice needs at least one bit a value, this needs a fraction of
/// one for a skewed distribution (a quantised residual that is 0 nine times in ten costs ~0.5 bit).
///
/// A value is coded as its magnitude and, when not zero, its sign: a zero flag, the bit width, the
/// bits after the leading one. Every probability is chosen by the previous values' size classes (and
/// the sign's by the previous sign), so runs and bursts are learned. No table is stored: decoder and
/// encoder adapt alike.
///
/// This type drives a stream value by value (`History`, the width context); the arithmetic coding
/// is `RangeEncoder` and `RangeDecoder`, and which bit goes under which probability is the layout's
/// model: `BitwiseModel` (the first layout) or `TreeModel` (every integer stream written now).
package enum RangeCoder {
    static let probBits: UInt32 = 11
    static let probInit: UInt16 = 1 << 10
    static let moveBits: UInt16 = 5
    static let top: UInt32 = 1 << 24

    /// A tree-layout state: probability of a 0 in the low 16 bits (1…65535: never 0 or 1), how often
    /// it was used (up to 15) above. It moves by 1/2, 1/4, 1/8, 1/16 of the distance while young
    /// (used 0, 1–2, 3–6, 7–14 times), then by 1/32.
    static let fineInit: UInt32 = 1 << 15

    @inline(__always)
    static func adapt(_ state: UInt32, _ b: Bool) -> UInt32 {
        let p = state & 0xFFFF
        let n = state >> 16
        let shift = min(5, 32 - (n + 1).leadingZeroBitCount)
        let q = b ? p &- (p >> shift) : p &+ ((65536 &- p) >> shift)
        return q | (min(n + 1, 15) << 16)
    }

    /// What both layouts' contexts are made of: the previous values' size classes and sign.
    struct History {
        var c1 = 0, c2 = 0, lastSign = 0

        /// Size class of a magnitude: 0, 1, 2–3, more.
        @inline(__always)
        static func sizeClass(_ m: UInt64) -> Int { m == 0 ? 0 : m == 1 ? 1 : m < 4 ? 2 : 3 }

        @inline(__always)
        mutating func advance(_ magnitude: UInt64, negative: Bool) {
            c2 = c1
            c1 = History.sizeClass(magnitude)
            lastSign = magnitude == 0 ? 0 : negative ? 1 : 2
        }

        @inline(__always)
        func signContext(_ magnitude: UInt64) -> Int { lastSign * 3 + min(2, History.sizeClass(magnitude) - 1) }
    }

    @inline(__always)
    static func split(_ u: UInt64) -> (magnitude: UInt64, negative: Bool) { ((u >> 1) &+ (u & 1), u & 1 == 1) }

    @inline(__always)
    static func join(_ magnitude: UInt64, negative: Bool) -> UInt64 {
        negative ? (magnitude &* 2) &- 1 : magnitude &* 2
    }

    /// How a stream is modelled. `bitwise`: this file's model (11-bit probabilities, low bits one
    /// by one), which timestamp modes 4 and 5 and the integer streams written before use; `trees`:
    /// `TreeModel`, every integer stream written now.
    package enum Layout: Sendable { case bitwise, trees }

    /// The coded bytes of `values` (zig-zag coded signed integers). No default layout: a new
    /// writer names `.trees`; `.bitwise` only makes old streams for the decode tests.
    package static func encode(_ values: [UInt64], layout: Layout) -> [UInt8] {
        layout == .trees ? encodeTrees(values) : encodeBitwise(values)
    }

    /// Decodes `count` values from `bytes[from..<to]`.
    /// - Throws: `DecodeError` when the bytes end well before the values do.
    package static func decode(
        count: Int, from raw: UnsafeRawBufferPointer, _ from: Int, _ to: Int, layout: Layout, into out: inout [UInt64]
    ) throws(DecodeError) {
        if layout == .trees {
            try decodeTrees(count: count, from: raw, from, to, into: &out)
        } else {
            try decodeBitwise(count: count, from: raw, from, to, into: &out)
        }
    }

    static func encodeBitwise(_ values: [UInt64]) -> [UInt8] {
        var m = BitwiseModel()
        var h = History()
        var e = RangeEncoder()
        e.out.reserveCapacity(values.count / 4 + 16)
        for u in values {
            let (mag, negative) = split(u)
            m.encode(mag, negative: negative, h, into: &e)
            h.advance(mag, negative: negative)
        }
        return e.finish()
    }

    static func decodeBitwise(
        count: Int, from raw: UnsafeRawBufferPointer, _ from: Int, _ to: Int, into out: inout [UInt64]
    ) throws(DecodeError) {
        var m = BitwiseModel()
        var h = History()
        var d = RangeDecoder(raw, from: from, to: to)
        for _ in 0..<count {
            let (mag, negative) = m.decode(h, from: &d)
            if d.overrun { throw DecodeError("range-coded values end early", offset: to) }
            out.append(join(mag, negative: negative))
            h.advance(mag, negative: negative)
        }
    }

    /// How a non-zero value's bit width is coded. `tree`: its 6 bits through a bit tree (timestamps,
    /// and every value stream written before `relative`); `relative`: whether it equals the previous
    /// non-zero value's width, if not up or down and how many steps in unary — ~3 binary decisions
    /// a value instead of 6 for the same information (measured in a simulation of this coder on the
    /// shared data sets' residuals: 0.3–2.4 % fewer bytes at a 1 % bound, −0.3…+0.3 % lossless),
    /// and decisions are what the coder's time goes on.
    package enum Widths: Sendable { case tree, relative }

    /// The level of a value in an integer stream predicted from its predecessors, the context of
    /// the next residual's width: how large the series is now, for sensors whose noise grows with
    /// the reading (dust, prices). The bit width of |k| less `shift`, at most 15.
    package struct Levels {
        let order: Int
        let shift: Int
        var p1: Int64 = 0, p2: Int64 = 0

        package init(order: Int, shift: Int) {
            self.order = order
            self.shift = shift
        }

        @inline(__always)
        static func level(_ k: Int64, shift: Int) -> Int {
            min(15, max(0, 64 - k.magnitude.leadingZeroBitCount - shift))
        }

        /// The shift that puts the widest of `ks` at level 15.
        package static func shift(for ks: [Int64]) -> Int {
            let widest = ks.reduce(0) { max($0, 64 - $1.magnitude.leadingZeroBitCount) }
            return max(0, widest - 15)
        }

        /// Each value's level: that of the one before it (0 for the first).
        package static func of(_ ks: [Int64], shift: Int) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: ks.count)
            for i in ks.indices.dropFirst() { out[i] = UInt8(level(ks[i - 1], shift: shift)) }
            return out
        }

        /// The decoder's side: reconstructs the value from its residual, gives the next level.
        @inline(__always)
        mutating func next(_ z: UInt64) -> Int {
            let k = ZigZag.decode(z) &+ Predictor.predict(order, p1, p2)
            (p2, p1) = (p1, k)
            return Levels.level(k, shift: shift)
        }
    }

    /// The tree layout (`TreeModel`), each value's width in the context of its predecessor's level
    /// (`levels`, one a value) or else of the previous value's size class.
    static func encodeTrees(_ values: [UInt64], levels: [UInt8]? = nil, widths: Widths = .tree) -> [UInt8] {
        TreeModel.encode(values, levels: levels, widths: widths)
    }

    static func decodeTrees(
        count: Int, from raw: UnsafeRawBufferPointer, _ from: Int, _ to: Int, levels: Levels? = nil,
        widths: Widths = .tree,
        into out: inout [UInt64]
    ) throws(DecodeError) {
        try TreeModel.decode(count: count, from: raw, from, to, levels: levels, widths: widths, into: &out)
    }
}
