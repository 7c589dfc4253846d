/// Adaptive binary range coding of unsigned integers (the scheme of LZMA's range coder: 11-bit
/// probabilities that adapt by 1/32 per bit), the alternative to `RiceCodec` where a stream is
/// mostly zeros and small values: Rice needs at least one bit a value, this needs a fraction of
/// one for a skewed distribution (a quantised residual that is 0 nine times in ten costs ~0.5 bit).
///
/// A value is coded as (the bitwise layout; `RangeCoder+Trees.swift` has the one written now): a zero flag; for a magnitude `m > 0` its bit width − 1 (1…64) through a 6-level
/// bit tree, the bit after the leading one adaptively, the remaining bits directly, then the sign. Every
/// model is chosen by the previous values' size classes (and the sign by the previous sign), so runs and bursts are
/// learned. No table is stored: decoder and encoder adapt alike.
package enum RangeCoder {
    static let probBits: UInt32 = 11
    static let probInit: UInt16 = 1 << 10
    static let moveBits: UInt16 = 5
    static let top: UInt32 = 1 << 24

    /// The adaptive probabilities of one stream. The stream is zig-zag coded signed values (a
    /// quantised residual): each is coded as its magnitude and, when not zero, its sign, because
    /// the sign of a difference of noise is anti-correlated with the previous one.
    struct Model {
        var zero = [UInt16](repeating: RangeCoder.probInit, count: 16)
        var width = [UInt16](repeating: RangeCoder.probInit, count: 4 * 64)
        var mantissa = [UInt16](repeating: RangeCoder.probInit, count: 4 * 65)
        var sign = [UInt16](repeating: RangeCoder.probInit, count: 9)
    }

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

    struct Encoder {
        var low: UInt64 = 0
        var range: UInt32 = 0xFFFF_FFFF
        var cache: UInt8 = 0
        var cacheSize = 1
        var out: [UInt8] = []

        @inline(__always)
        mutating func shiftLow() {
            if UInt32(truncatingIfNeeded: low) < 0xFF00_0000 || (low >> 32) != 0 {
                let carry = UInt8(truncatingIfNeeded: low >> 32)
                var temp = cache
                repeat {
                    out.append(temp &+ carry)
                    temp = 0xFF
                    cacheSize -= 1
                } while cacheSize != 0
                cache = UInt8(truncatingIfNeeded: low >> 24)
            }
            cacheSize += 1
            low = (low & 0x00FF_FFFF) << 8
        }

        @inline(__always)
        mutating func bit(_ p: inout UInt16, _ b: Bool) {
            let bound = (range >> RangeCoder.probBits) &* UInt32(p)
            if !b {
                range = bound
                p &+= ((1 << 11) &- p) >> RangeCoder.moveBits
            } else {
                low &+= UInt64(bound)
                range &-= bound
                p &-= p >> RangeCoder.moveBits
            }
            while range < RangeCoder.top {
                range <<= 8
                shiftLow()
            }
        }

        /// A bit under a 16-bit probability that adapts fast while young (the tree layout):
        /// a skewed bit can cost 1/1000 of a bit, and a context seen a few times is already useful.
        @inline(__always)
        mutating func fineBit(_ state: inout UInt32, _ b: Bool) {
            let bound = (range >> 16) &* (state & 0xFFFF)
            if !b {
                range = bound
            } else {
                low &+= UInt64(bound)
                range &-= bound
            }
            state = RangeCoder.adapt(state, b)
            while range < RangeCoder.top {
                range <<= 8
                shiftLow()
            }
        }

        @inline(__always)
        mutating func direct(_ b: Bool) {
            range >>= 1
            if b { low &+= UInt64(range) }
            while range < RangeCoder.top {
                range <<= 8
                shiftLow()
            }
        }

        /// `count` (1…16) bits of `v` at once, each with probability ½.
        @inline(__always)
        mutating func direct(_ v: UInt64, count: Int) {
            range >>= UInt32(count)
            low &+= UInt64(range) &* v
            while range < RangeCoder.top {
                range <<= 8
                shiftLow()
            }
        }

        /// Trailing zero bytes the decoder supplies itself (it reads zeros past the end, and
        /// tolerates 4 before it calls a stream short).
        static let trimmable = 4

        mutating func finish() -> [UInt8] {
            // Any code in [low, low + range) decodes alike: the one with the most zero low bytes
            // (range ≥ 2^24 here, so a multiple of 2^24 is in it), whose zeros need not be written.
            let last = low &+ UInt64(range) &- 1
            for zeroBits in [32, 24] as [UInt64] {
                let v = last & ~((1 << zeroBits) - 1)
                if v >= low {
                    low = v
                    break
                }
            }
            for _ in 0..<5 { shiftLow() }
            var trimmed = 0
            while trimmed < Encoder.trimmable, out.last == 0 {
                out.removeLast()
                trimmed += 1
            }
            return out
        }
    }

    struct Decoder {
        let bytes: UnsafeRawBufferPointer
        var position: Int
        let end: Int
        var code: UInt32 = 0
        var range: UInt32 = 0xFFFF_FFFF

        init(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int) {
            self.bytes = bytes
            position = from
            end = to
            for _ in 0..<5 { code = (code << 8) | UInt32(next()) }
        }

        /// Past the end reads zeros; `overrun` tells whether the stream was short.
        @inline(__always)
        mutating func next() -> UInt8 {
            defer { position += 1 }
            return position < end ? bytes[position] : 0
        }

        var overrun: Bool { position > end + Encoder.trimmable }

        @inline(__always)
        mutating func bit(_ p: inout UInt16) -> Bool {
            let bound = (range >> RangeCoder.probBits) &* UInt32(p)
            let b: Bool
            if code < bound {
                range = bound
                p &+= ((1 << 11) &- p) >> RangeCoder.moveBits
                b = false
            } else {
                code &-= bound
                range &-= bound
                p &-= p >> RangeCoder.moveBits
                b = true
            }
            while range < RangeCoder.top {
                range <<= 8
                code = (code << 8) | UInt32(next())
            }
            return b
        }

        @inline(__always)
        mutating func fineBit(_ state: inout UInt32) -> Bool {
            let bound = (range >> 16) &* (state & 0xFFFF)
            let b = code >= bound
            if !b {
                range = bound
            } else {
                code &-= bound
                range &-= bound
            }
            state = RangeCoder.adapt(state, b)
            while range < RangeCoder.top {
                range <<= 8
                code = (code << 8) | UInt32(next())
            }
            return b
        }

        /// What `Encoder.direct(_:count:)` wrote (a corrupt stream gives some value below 2^count).
        @inline(__always)
        mutating func direct(count: Int) -> UInt64 {
            range >>= UInt32(count)
            let v = min(code / range, (1 << UInt32(count)) - 1)
            code &-= v &* range
            while range < RangeCoder.top {
                range <<= 8
                code = (code << 8) | UInt32(next())
            }
            return UInt64(v)
        }

        @inline(__always)
        mutating func direct() -> Bool {
            range >>= 1
            var b = false
            if code >= range {
                code &-= range
                b = true
            }
            while range < RangeCoder.top {
                range <<= 8
                code = (code << 8) | UInt32(next())
            }
            return b
        }
    }

    /// How a stream is modelled. `bitwise`: this file's model (11-bit probabilities, low bits one
    /// by one), which timestamp modes 4 and 5 and the integer streams written before use; `trees`:
    /// `RangeCoder+Trees.swift`, every integer stream written now.
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
        var m = Model()
        var h = History()
        var e = Encoder()
        e.out.reserveCapacity(values.count / 4 + 16)
        for u in values {
            let (mag, negative) = split(u)
            let c = h.c1
            e.bit(&m.zero[c * 4 + h.c2], mag != 0)
            if mag != 0 {
                let w = 64 - mag.leadingZeroBitCount  // 1…64
                // Bit tree over w − 1 (6 bits), most significant first: nodes 1…63 index the model.
                var node = 1
                for level in stride(from: 5, through: 0, by: -1) {
                    let b = ((w - 1) >> level) & 1 == 1
                    e.bit(&m.width[c * 64 + node], b)
                    node = node << 1 | (b ? 1 : 0)
                }
                if w >= 2 {
                    e.bit(&m.mantissa[c * 65 + w], (mag >> UInt64(w - 2)) & 1 == 1)
                    if w >= 3 {
                        for k in stride(from: w - 3, through: 0, by: -1) { e.direct((mag >> UInt64(k)) & 1 == 1) }
                    }
                }
                e.bit(&m.sign[h.signContext(mag)], negative)
            }
            h.advance(mag, negative: negative)
        }
        return e.finish()
    }

    static func decodeBitwise(
        count: Int, from raw: UnsafeRawBufferPointer, _ from: Int, _ to: Int, into out: inout [UInt64]
    ) throws(DecodeError) {
        var m = Model()
        var h = History()
        var d = Decoder(raw, from: from, to: to)
        for _ in 0..<count {
            let c = h.c1
            var mag: UInt64 = 0
            var negative = false
            if d.bit(&m.zero[c * 4 + h.c2]) {
                var node = 1
                for _ in 0..<6 { node = node << 1 | (d.bit(&m.width[c * 64 + node]) ? 1 : 0) }
                let w = node - 64 + 1
                mag = 1
                if w >= 2 {
                    mag = mag << 1 | (d.bit(&m.mantissa[c * 65 + w]) ? 1 : 0)
                    if w >= 3 { for _ in 0..<(w - 2) { mag = mag << 1 | (d.direct() ? 1 : 0) } }
                }
                negative = d.bit(&m.sign[h.signContext(mag)])
            }
            if d.overrun { throw DecodeError("range-coded values end early", offset: to) }
            out.append(join(mag, negative: negative))
            h.advance(mag, negative: negative)
        }
    }
}
