/// The tANS tables of a `TableCoder` stream, built from the bins' weights alike on both sides.
/// A table of `2^sizeLog` states; symbol s owns `weight[s]` of them, spread over the table by an
/// odd stride of about 3/5 of its size (coprime with it, so every state is visited once), which
/// keeps a rare symbol's states apart.
extension TableCoder {
    static func spread(_ weights: [Int], sizeLog: Int) -> [Int] {
        let t = 1 << sizeLog
        let stride = (3 * t / 5) | 1
        var symbols = [Int](repeating: 0, count: t)
        var step = 0
        for (s, w) in weights.enumerated() {
            for _ in 0..<w {
                symbols[(stride * step) & (t - 1)] = s
                step += 1
            }
        }
        return symbols
    }

    /// The encoder's side. In state x (in [T, 2T)) symbol s emits the low r bits of x, where r is
    /// `minBits[s]` or one more (from `cutoff[s]` on), so that x >> r lies in [w, 2w); the next
    /// state is the (x >> r − w)-th of s's states.
    struct EncodingTable {
        /// Per symbol: a state at or past `cutoff` gives up `minBits + 1` bits, else `minBits`; what
        /// is left of it, plus `base`, indexes `next`.
        struct Entry {
            var cutoff: Int
            var minBits: Int
            var base: Int
        }
        var entries: [Entry]
        /// s's states (T + index, ascending) from s's `base + weight` on.
        var next: [Int]

        init(weights: [Int], sizeLog: Int) {
            let t = 1 << sizeLog
            entries = []
            var at = 0
            var starts = [Int]()
            for w in weights {
                let minBits = sizeLog + 1 - (64 - (2 * w - 1).leadingZeroBitCount)
                entries.append(Entry(cutoff: (2 * w) << minBits, minBits: minBits, base: at - w))
                starts.append(at)
                at += w
            }
            next = [Int](repeating: 0, count: t)
            for (state, s) in spread(weights, sizeLog: sizeLog).enumerated() {
                next[starts[s]] = t + state
                starts[s] += 1
            }
        }
    }

    /// The decoder's side: per state, the bin's lower bound, and one word with the next state's
    /// base (bits 0–15), how many bits to read for it (16–23) and the bin's offset bits (24–31).
    struct DecodingTable {
        var nodes: [UInt32]
        var lowers: [UInt64]
        let sizeLog: Int

        init(bins: [Bin], sizeLog: Int) {
            self.sizeLog = sizeLog
            let t = 1 << sizeLog
            nodes = [UInt32](repeating: 0, count: t)
            lowers = [UInt64](repeating: 0, count: t)
            var x = bins.map(\.weight)
            let offsetBits = bins.map(\.offsetBits)
            let binLowers = bins.map(\.lower)
            for (state, s) in spread(x, sizeLog: sizeLog).enumerated() {
                let bits = sizeLog + 1 - (64 - x[s].leadingZeroBitCount)
                let next = (x[s] << bits) - t
                x[s] += 1
                nodes[state] = UInt32(next) | UInt32(bits) << 16 | UInt32(offsetBits[s]) << 24
                lowers[state] = binLowers[s]
            }
        }

        /// Decodes `n` values from the padded bits (`bodyBits` of them real) into `values`;
        /// returns the bit position reached, or one past `bodyBits` as soon as a batch overran.
        func decode(
            _ n: Int, from bytes: UnsafeRawPointer, _ bodyBits: Int, into values: UnsafeMutablePointer<UInt64>
        ) -> Int {
            let mask = (1 << sizeLog) - 1
            var offsetBits = [UInt8](repeating: 0, count: TableCoder.batch)
            return nodes.withUnsafeBufferPointer { nodes in
                lowers.withUnsafeBufferPointer { lowers in
                    offsetBits.withUnsafeMutableBufferPointer { ob in
                        let initial = TableCoder.readBits(bytes, 0, 4 * sizeLog)
                        var s0 = Int(initial & UInt64(mask))
                        var s1 = Int((initial >> UInt64(sizeLog)) & UInt64(mask))
                        var s2 = Int((initial >> UInt64(2 * sizeLog)) & UInt64(mask))
                        var s3 = Int((initial >> UInt64(3 * sizeLog)) & UInt64(mask))
                        var position = 4 * sizeLog
                        var start = 0
                        while start < n {
                            let k = min(TableCoder.batch, n - start)
                            let out = values + start
                            // The ANS bits: four values per 64-bit load (4 · 11 + 7 ≤ 64).
                            var i = 0
                            while i + 4 <= k {
                                let word =
                                    bytes.loadUnaligned(fromByteOffset: position >> 3, as: UInt64.self)
                                    .littleEndian >> UInt64(position & 7)
                                var used: UInt64 = 0
                                @inline(__always) func step(_ s: inout Int, _ j: Int) {
                                    let node = nodes[s]
                                    out[j] = lowers[s]
                                    ob[j] = UInt8(truncatingIfNeeded: node >> 24)
                                    let b = UInt64((node >> 16) & 0xFF)
                                    s = Int(node & 0xFFFF) &+ Int(truncatingIfNeeded: (word >> used) & ((1 << b) &- 1))
                                    used &+= b
                                }
                                step(&s0, i)
                                step(&s1, i + 1)
                                step(&s2, i + 2)
                                step(&s3, i + 3)
                                position &+= Int(used)
                                i += 4
                            }
                            while i < k {  // the last batch's tail, lane by lane
                                let word = TableCoder.readBits(bytes, position, sizeLog)
                                @inline(__always) func step(_ s: inout Int) {
                                    let node = nodes[s]
                                    out[i] = lowers[s]
                                    ob[i] = UInt8(truncatingIfNeeded: node >> 24)
                                    let b = Int((node >> 16) & 0xFF)
                                    s = Int(node & 0xFFFF) &+ Int(truncatingIfNeeded: word & ((1 << UInt64(b)) &- 1))
                                    position &+= b
                                }
                                switch i & 3 {
                                case 0: step(&s0)
                                case 1: step(&s1)
                                case 2: step(&s2)
                                default: step(&s3)
                                }
                                i += 1
                            }
                            // The offsets.
                            for j in 0..<k {
                                let b = Int(ob[j])
                                if b <= 56 {  // (all but the widest offsets: one load, no call)
                                    let word =
                                        bytes.loadUnaligned(fromByteOffset: position >> 3, as: UInt64.self).littleEndian
                                    out[j] &+= (word >> UInt64(position & 7)) & ((1 << UInt64(b)) &- 1)
                                } else {
                                    out[j] &+= TableCoder.readBits(bytes, position, b)
                                }
                                position &+= b
                            }
                            if position > bodyBits { return position }
                            start += k
                        }
                        return position
                    }
                }
            }
        }
    }
}
