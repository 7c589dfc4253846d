/// Positions whose exact bits are stored beside a codec's stream (values it could not code).
package struct Exceptions {
    package var positions: [Int] = []
    package var bits: [UInt64] = []

    package init() {}

    package mutating func add(_ index: Int, _ value: Double) {
        positions.append(index)
        bits.append(value.bitPattern)
    }

    package var count: Int { positions.count }

    package func write(into w: inout ByteWriter) {
        w.varint(UInt64(positions.count))
        var last = 0
        for (p, b) in zip(positions, bits) {
            w.varint(UInt64(p - last))
            w.u64(b)
            last = p
        }
    }

    /// Reads a list for a segment of `count` points; positions must rise and stay inside it.
    package static func read(_ r: inout ByteReader, count: Int) throws(DecodeError) -> Exceptions {
        let n = try r.count("exception count", limit: count)
        try r.need(n * 9 > r.remaining ? Int.max : 0, "exceptions")
        var e = Exceptions()
        e.positions.reserveCapacity(n)
        e.bits.reserveCapacity(n)
        var last = 0
        for i in 0..<n {
            let d = try r.count("exception position", limit: count)
            let p = last + d
            if p >= count || (i > 0 && d == 0) {
                throw DecodeError("exception position \(p) out of order", offset: r.offset)
            }
            e.positions.append(p)
            e.bits.append(try r.u64("exception value"))
            last = p
        }
        return e
    }

    package func apply(to values: inout [Double], base: Int) {
        for (p, b) in zip(positions, bits) { values[base + p] = Double(bitPattern: b) }
    }
}

package enum PowersOfTen {
    /// 10^0 ... 10^22, every one exact in a Double.
    package static let table: [Double] = {
        var t = [Double]()
        var p = 1.0
        for _ in 0...22 {
            t.append(p)
            p *= 10
        }
        return t
    }()
}

/// Rounding to an integer without a call into libm (`Double.rounded()` is one per value in the
/// encoders' loops): ties go to even, not away from zero — the encoders check what they round.
@inline(__always)
package func roundedQuickly(_ x: Double) -> Double {
    // Below 2^51 in magnitude, adding 1.5 · 2^52 leaves no fraction bits; beyond, x has none.
    abs(x) < 2_251_799_813_685_248.0 ? (x + 6_755_399_441_055_744.0) - 6_755_399_441_055_744.0 : x.rounded()
}
