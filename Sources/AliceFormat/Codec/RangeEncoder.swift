/// The encoding half of the range coder (LZMA's carry-propagating scheme): bits under an 11-bit
/// probability (`bit`), under a 16-bit one that adapts fast while young (`fineBit`), and with
/// probability ½ (`direct`). It knows nothing of values: a model (`BitwiseModel`, `TreeModel`)
/// decides which bits go under which probability.
struct RangeEncoder {
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
        while trimmed < RangeEncoder.trimmable, out.last == 0 {
            out.removeLast()
            trimmed += 1
        }
        return out
    }
}
