/// Table-driven entropy coding of unsigned integers (zig-zag residuals, timestamps' deltas): the
/// fast alternative to `RangeCoder`, pcodec's scheme of bins and tANS. Each value is a bin's symbol,
/// coded by one of four interleaved tANS states under static weights, and its offset in the bin in
/// raw bits. Decoding a value is a table lookup, a shift and a mask, with no adaptive state and no
/// branch on the data: four independent state chains share one 64-bit load.
///
/// Layout: the table's size log (a byte, 0…11; 0 = one bin and no ANS), the bin count (varint),
/// per bin the classes it covers (`TableCoder+Bins`: the gap after the previous bin's last class
/// and its span, varints) and, with a table, its weight − 1 (varint); then bits, least significant
/// first: the four states the decoder starts in (size log bits each), then per batch of 256
/// values first every value's ANS bits, then every value's offset bits.
package enum TableCoder {
    static let maxSizeLog = 11
    static let batch = 256
    /// The most bytes one batch can read: ANS bits and 64-bit offsets for 256 values, and the
    /// 8-byte load at its end.
    static let batchBytes = batch * (maxSizeLog + 64) / 8 + 16

    /// The coded bytes of `values`.
    package static func encode(_ values: [UInt64]) -> [UInt8] {
        var w = ByteWriter(capacity: values.count + 32)
        encode(values, into: &w)
        return w.bytes
    }

    /// Appends the coding of `values` to `w`.
    package static func encode(_ values: [UInt64], into w: inout ByteWriter) {
        let n = values.count
        // Each value's class, once: counted here, turned into its bin's symbol below.
        var symbols = [UInt16](repeating: 0, count: n)
        var counts = [Int](repeating: 0, count: classCount)
        values.withUnsafeBufferPointer { v in
            symbols.withUnsafeMutableBufferPointer { sym in
                counts.withUnsafeMutableBufferPointer { cnt in
                    for i in 0..<n {
                        let c = classOf(v[i])
                        sym[i] = UInt16(truncatingIfNeeded: c)
                        cnt[c] &+= 1
                    }
                }
            }
        }
        let (bins, sizeLog) = chooseBins(counts: counts, total: max(n, 1))
        w.u8(UInt8(sizeLog))
        w.varint(UInt64(bins.count))
        var previous = -1
        var symbolOf = [UInt16](repeating: 0, count: classCount)
        for (k, b) in bins.enumerated() {
            w.varint(UInt64(b.first - previous - 1))
            w.varint(UInt64(b.last - b.first))
            if sizeLog > 0 { w.varint(UInt64(b.weight - 1)) }
            previous = b.last
            for c in b.first...b.last { symbolOf[c] = UInt16(k) }
        }
        let lowers = bins.map(\.lower)
        let offsetBits = bins.map(\.offsetBits)
        symbols.withUnsafeMutableBufferPointer { sym in
            symbolOf.withUnsafeBufferPointer { of in
                for i in 0..<n { sym[i] = of[Int(sym[i])] }
            }
        }
        var bits = BitWriter(capacity: n)
        if sizeLog == 0 {
            for i in 0..<n { bits.write(values[i] &- lowers[0], bits: offsetBits[0]) }
            w.append(bits.finish())
            return
        }
        let table = EncodingTable(weights: bins.map(\.weight), sizeLog: sizeLog)
        // tANS codes last in, first out: encode backwards, keep each value's bits at its index,
        // write them forwards.
        var ansBits = [UInt16](repeating: 0, count: n)
        var ansCount = [UInt8](repeating: 0, count: n)
        var states = [Int](repeating: 1 << sizeLog, count: 4)
        symbols.withUnsafeBufferPointer { sym in
            table.entries.withUnsafeBufferPointer { entries in
                table.next.withUnsafeBufferPointer { next in
                    ansBits.withUnsafeMutableBufferPointer { ab in
                        ansCount.withUnsafeMutableBufferPointer { ac in
                            states.withUnsafeMutableBufferPointer { st in
                                var i = n - 1
                                while i >= 0 {
                                    let e = entries[Int(sym[i])]
                                    let x = st[i & 3]
                                    let r = x >= e.cutoff ? e.minBits + 1 : e.minBits
                                    ab[i] = UInt16(truncatingIfNeeded: x & ((1 << r) - 1))
                                    ac[i] = UInt8(truncatingIfNeeded: r)
                                    st[i & 3] = next[e.base + (x >> r)]
                                    i -= 1
                                }
                            }
                        }
                    }
                }
            }
        }
        for x in states { bits.write(UInt64(x - (1 << sizeLog)), bits: sizeLog) }
        var start = 0
        while start < n {
            let end = min(n, start + batch)
            for j in start..<end { bits.write(UInt64(ansBits[j]), bits: Int(ansCount[j])) }
            for j in start..<end {
                let s = Int(symbols[j])
                bits.write(values[j] &- lowers[s], bits: offsetBits[s])
            }
            start = end
        }
        w.append(bits.finish())
    }

    /// The bins and table size a stream's header gives, checked.
    static func readHeader(_ r: inout ByteReader) throws(DecodeError) -> (bins: [Bin], sizeLog: Int) {
        let sizeLog = Int(try r.u8("table size"))
        guard sizeLog <= maxSizeLog else {
            throw DecodeError("table size 2^\(sizeLog) is over 2^\(maxSizeLog)", offset: r.offset - 1)
        }
        let count = try r.count("bin count", limit: min(classCount, 1 << sizeLog))
        guard count >= 1, (count == 1) == (sizeLog == 0) else {
            throw DecodeError("\(count) bins in a table of 2^\(sizeLog)", offset: r.offset)
        }
        var bins: [Bin] = []
        bins.reserveCapacity(count)
        var previous = -1
        var sum = 0
        for _ in 0..<count {
            let first = previous + 1 + (try r.count("bin gap", limit: classCount))
            let last = first + (try r.count("bin span", limit: classCount))
            guard last < classCount else { throw DecodeError("bin past the last class", offset: r.offset) }
            var bin = Bin(first: first, last: last)
            if sizeLog > 0 { bin.weight = 1 + (try r.count("bin weight", limit: (1 << sizeLog) - 1)) }
            sum += bin.weight
            bins.append(bin)
            previous = last
        }
        guard sum == 1 << sizeLog else {
            throw DecodeError("bin weights sum to \(sum), not 2^\(sizeLog)", offset: r.offset)
        }
        return (bins, sizeLog)
    }

    /// Decodes `count` values from `bytes[from..<to]` and appends them to `out`.
    /// - Throws: `DecodeError` for a bad header or bits that end before the values do.
    package static func decode(
        count n: Int, from raw: UnsafeRawBufferPointer, _ from: Int, _ to: Int, into out: inout [UInt64]
    ) throws(DecodeError) {
        var r = ByteReader(raw, from: from, to: to)
        let (bins, sizeLog) = try readHeader(&r)
        let bodyBits = r.remaining * 8
        // A padded copy of the bits: no load in the loops below needs a bounds check.
        let padded = UnsafeMutableRawBufferPointer.allocate(byteCount: r.remaining + batchBytes, alignment: 8)
        defer { padded.deallocate() }
        padded.initializeMemory(as: UInt8.self, repeating: 0)
        if r.remaining > 0 {
            padded.baseAddress!.copyMemory(from: raw.baseAddress! + r.offset, byteCount: r.remaining)
        }
        let bytes = UnsafeRawPointer(padded.baseAddress!)
        let end = out.appendUninitialized(count: n) { values -> Int in
            let end: Int
            if sizeLog == 0 {
                end = unpack(n, lower: bins[0].lower, bits: bins[0].offsetBits, from: bytes, bodyBits, into: values)
            } else {
                end = DecodingTable(bins: bins, sizeLog: sizeLog).decode(n, from: bytes, bodyBits, into: values)
            }
            // Bits that end early stop the decoders where they are: no value is left unwritten.
            if end > bodyBits { values.update(repeating: 0, count: n) }
            return end
        }
        if end > bodyBits { throw DecodeError("table-coded values end early", offset: to) }
    }

    /// The one-bin case: `lower` plus `bits` raw bits a value. Returns the bit position reached.
    static func unpack(
        _ n: Int, lower: UInt64, bits: Int, from bytes: UnsafeRawPointer, _ bodyBits: Int,
        into values: UnsafeMutablePointer<UInt64>
    ) -> Int {
        guard bits > 0 else {
            values.update(repeating: lower, count: n)
            return 0
        }
        guard n * bits <= bodyBits else { return n * bits }
        if bits <= 56 {  // one load a value, no call
            let mask = (UInt64(1) << UInt64(bits)) &- 1
            for i in 0..<n {
                let position = i &* bits
                let word = bytes.loadUnaligned(fromByteOffset: position >> 3, as: UInt64.self).littleEndian
                values[i] = lower &+ (word >> UInt64(position & 7)) & mask
            }
        } else {
            for i in 0..<n { values[i] = lower &+ readBits(bytes, i * bits, bits) }
        }
        return n * bits
    }

    /// `count` bits (0…64) at bit `position`.
    @inline(__always)
    static func readBits(_ bytes: UnsafeRawPointer, _ position: Int, _ count: Int) -> UInt64 {
        let word = bytes.loadUnaligned(fromByteOffset: position >> 3, as: UInt64.self).littleEndian
        if count <= 56 {
            return (word >> UInt64(position & 7)) & ((1 << UInt64(count)) &- 1)
        }
        let low = (word >> UInt64(position & 7)) & 0xFFFF_FFFF
        let high = bytes.loadUnaligned(fromByteOffset: (position + 32) >> 3, as: UInt64.self).littleEndian
        let highBits = (high >> UInt64((position + 32) & 7)) & ((1 << UInt64(count - 32)) &- 1)
        return low | highBits << 32
    }
}
