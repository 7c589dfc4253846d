/// The decoding half of the range coder: what `RangeEncoder` wrote, bit for bit, under the same
/// probabilities (a model adapts them alike on both sides). Reads zeros past the end of its bytes.
struct RangeDecoder {
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

    var overrun: Bool { position > end + RangeEncoder.trimmable }

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

    /// What `RangeEncoder.direct(_:count:)` wrote (a corrupt stream gives some value below 2^count).
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
