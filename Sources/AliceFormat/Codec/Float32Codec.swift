/// Lossless coding of float32 readings stored as doubles: a sensor reports a float32, a gateway or
/// an export widens it, and `88.51872` arrives as `88.51872253417969` — a double with 17 decimals
/// that the decimal codecs cannot hold (and XOR codes at ~3 bytes a point), though it carries the
/// float32's few digits.
///
/// Each value is replaced by its *view*: the shortest fixed-point decimal `Double(k) / 10^e` that
/// rounds to the same float32 (`88.51872`), and the views are coded by the lossless codecs that
/// suit decimals (decimal, significant digits, dictionary, XOR), or else the float32 bit patterns
/// as ordered integers with a predictor (float32 noise without decimal structure). The decoder
/// widens `Float(view)` back: the same bits, which the competition checks as for every codec.
/// Values that are not float32s (and NaNs with payloads) are exceptions with their exact bits.
package enum Float32Codec {
    /// The inner coding byte that stands for ordered float32 bit patterns, not a codec of views.
    static let orderedBits: UInt8 = 0xFF
    /// Views have at most this many decimals (a float32 has 9 significant digits).
    static let maxDecimals = 12

    /// Whether `x` is a float32 widened to a double, bit for bit.
    @inline(__always)
    static func isFloat32(_ x: Double) -> Bool { Double(Float(x)).bitPattern == x.bitPattern }

    /// Whether `v[range]` is float32 data the double codecs would miss: 7/8 of its values are
    /// float32s and 1/16 of them have no short decimal form as doubles (`decimals`: more than 9;
    /// whole or binary-friendly readings such as 731 or 722.5 have one, 722.3 does not, and each
    /// costs the double codecs an exception).
    package static func applies(_ v: UnsafeBufferPointer<Double>, _ range: Range<Int>, decimals: [UInt8]) -> Bool {
        var floats = 0
        var long = 0
        for i in range where isFloat32(v[i]) {
            floats += 1
            if decimals[i - range.lowerBound] > 9 { long += 1 }
        }
        return floats * 8 >= range.count * 7 && long * 16 >= range.count
    }

    /// The shortest `Double(k) / 10^e` (e ≤ `maxDecimals`) whose float32 is `x`'s; `nil` if none.
    /// `guess` carries the previous value's `e` (neighbours have the same): two tries a value.
    @inline(__always)
    static func view(_ x: Double, guess: inout Int) -> Double? {
        let f = Float(x)
        func fits(_ e: Int) -> Double? {
            let p = PowersOfTen.table[e]
            let k = roundedQuickly(x * p)
            guard abs(k) < DecimalCodec.limit else { return nil }
            let q = k / p
            return Float(q).bitPattern == f.bitPattern ? q : nil  // (bits: −0.0 is not +0.0)
        }
        var e = guess
        guard var found = fits(e) else {
            e += 1
            while e <= maxDecimals {
                if let q = fits(e) {
                    guess = e
                    return q
                }
                e += 1
            }
            return nil
        }
        while e > 0, let q = fits(e - 1) {
            found = q
            e -= 1
        }
        guess = e
        return found
    }

    /// The decimals each value of `v[range]` needs as a reading: a double's own
    /// (`DecimalCodec.decimals`), or for a float32 without a short double decimal, its view's
    /// (`88.51872253417969`: 5), as the lattice codec needs them.
    /// - Parameter decimals: `DecimalCodec.decimals(v, range)`, when the caller has it already.
    package static func readingDecimals(_ v: UnsafeBufferPointer<Double>, _ range: Range<Int>, decimals: [UInt8]? = nil)
        -> [UInt8]
    {
        var decimals = decimals ?? DecimalCodec.decimals(v, range)
        var guess = 0
        for i in range where decimals[i - range.lowerBound] > 9 && isFloat32(v[i]) && !v[i].isNaN {
            if view(v[i], guess: &guess) != nil { decimals[i - range.lowerBound] = UInt8(guess) }
        }
        return decimals
    }

    /// Ordered integer of a float32's bits: −0.0 is −1, +0.0 is 0, and order follows the values.
    @inline(__always)
    static func ordinal(_ f: Float) -> Int64 {
        let b = f.bitPattern
        return b & 0x8000_0000 == 0 ? Int64(b) : -Int64(b & 0x7FFF_FFFF) - 1
    }

    @inline(__always)
    static func float(ordinal o: Int64) -> Float {
        // A corrupt stream's ordinal outside the 2^32 patterns still maps to some float.
        let b = o >= 0 ? UInt32(truncatingIfNeeded: o) : UInt32(truncatingIfNeeded: (0 &- o) &- 1) | 0x8000_0000
        return Float(bitPattern: b)
    }

    /// - Parameter views: the smallest lossless coding of the views (its code byte and payload),
    ///   which the competition chooses among the codecs that suit decimals.
    package static func encode(
        _ v: UnsafeBufferPointer<Double>, _ range: Range<Int>,
        views code: (UnsafeBufferPointer<Double>, Range<Int>) -> (code: UInt8, payload: [UInt8])?
    ) -> [UInt8]? {
        let n = range.count
        guard n > 0 else { return nil }
        var views = [Double](repeating: 0, count: n)
        var ordinals = [Int64](repeating: 0, count: n)
        var exceptions = Exceptions()
        var guess = 0
        var last = 0.0
        var lastOrdinal: Int64 = 0
        for i in range {
            let j = i - range.lowerBound
            let x = v[i]
            if isFloat32(x) && !x.isNaN {
                lastOrdinal = ordinal(Float(x))
                last = view(x, guess: &guess) ?? x  // a float32 is its own view (its decimals are exact)
            } else {
                exceptions.add(j, x)  // the views keep the last value: a zero residual
            }
            views[j] = last
            ordinals[j] = lastOrdinal
        }
        guard exceptions.count <= n / 8 else { return nil }
        var best: (inner: UInt8, payload: [UInt8])
        do {
            var w = ByteWriter(capacity: n + 16)
            Predictor.writeStream(ordinals, exceptions: Exceptions(), into: &w)
            best = (Self.orderedBits, w.bytes)
        }
        if let c = views.withUnsafeBufferPointer({ code($0, 0..<n) }), c.payload.count < best.payload.count {
            best = (c.code, c.payload)
        }
        var w = ByteWriter(capacity: best.payload.count + 16)
        w.u8(best.inner)
        exceptions.write(into: &w)
        w.append(best.payload)
        return w.bytes
    }

    /// - Parameter views: decodes views coded by the codec with that code byte.
    package static func decode(
        _ r: inout ByteReader, count: Int, into out: inout [Double],
        views decodeViews: (UInt8, inout ByteReader, Int, inout [Double]) throws(DecodeError) -> Void
    ) throws(DecodeError) {
        let at = r.offset
        let inner = try r.u8("float32 inner coding")
        let exceptions = try Exceptions.read(&r, count: count)
        let base = out.count
        if inner == orderedBits {
            let (ks, _) = try Predictor.readStream(&r, count: count)
            for k in ks { out.append(Double(float(ordinal: k))) }
        } else {
            var views = [Double]()
            views.reserveCapacity(count)
            try decodeViews(inner, &r, count, &views)
            guard views.count == count else {
                throw DecodeError("float32 views: \(views.count) of \(count)", offset: at)
            }
            for x in views { out.append(Double(Float(x))) }
        }
        exceptions.apply(to: &out, base: base)
    }
}
