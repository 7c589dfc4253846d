/// Gorilla-style XOR coding of raw float bits: the lossless fallback for values without a
/// short decimal form. Always succeeds; identical bits by construction.
package enum XORCodec {
    package static func encode(_ v: UnsafeBufferPointer<Double>, _ range: Range<Int>) -> [UInt8] {
        var w = BitWriter(capacity: range.count * 4)
        var prev: UInt64 = 0
        var lead = 65
        var trail = 0  // no window yet
        for i in range {
            let bits = v[i].bitPattern
            let x = bits ^ prev
            prev = bits
            if x == 0 {
                w.write(0, bits: 1)
                continue
            }
            let l = min(31, x.leadingZeroBitCount)
            let t = x.trailingZeroBitCount
            if lead <= 64 && l >= lead && t >= trail {
                w.write(0b01, bits: 2)  // '1' then '0': reuse the window
                w.write(x >> UInt64(trail), bits: 64 - lead - trail)
            } else {
                lead = l
                trail = t
                let len = 64 - l - t
                w.write(0b11, bits: 2)
                w.write(UInt64(l), bits: 5)
                w.write(UInt64(len - 1), bits: 6)
                w.write(x >> UInt64(t), bits: len)
            }
        }
        return w.finish()
    }

    package static func decode(_ r: inout ByteReader, count: Int, into out: inout [Double]) throws(DecodeError) {
        var br = BitReader(r.bytes, offset: r.offset, count: r.remaining)
        var prev: UInt64 = 0
        var lead = 65
        var trail = 0
        for _ in 0..<count {
            if try br.read(bits: 1) == 1 {
                if try br.read(bits: 1) == 1 {
                    lead = Int(try br.read(bits: 5))
                    let len = Int(try br.read(bits: 6)) + 1
                    guard lead + len <= 64 else { throw DecodeError("XOR window out of range", offset: r.offset) }
                    trail = 64 - lead - len
                } else if lead > 64 {
                    throw DecodeError("XOR window reused before it was set", offset: r.offset)
                }
                prev ^= try br.read(bits: 64 - lead - trail) << UInt64(trail)
            }
            out.append(Double(bitPattern: prev))
        }
        r.offset = r.end
    }
}

/// Raw 8-byte values: the fallback that always fits.
package enum RawCodec {
    package static func encode(_ v: UnsafeBufferPointer<Double>, _ range: Range<Int>) -> [UInt8] {
        var w = ByteWriter(capacity: range.count * 8)
        for i in range { w.f64(v[i]) }
        return w.bytes
    }

    package static func decode(_ r: inout ByteReader, count: Int, into out: inout [Double]) throws(DecodeError) {
        try r.need(count * 8, "raw values")
        for _ in 0..<count { out.append(try r.f64()) }
    }
}
