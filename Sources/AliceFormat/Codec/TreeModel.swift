internal import Synchronization

/// The tree layout's adaptive probabilities, for every integer stream written now, and the loops
/// that code a stream through them. 16-bit probabilities adapt fast while a context is young
/// (`RangeCoder.adapt`; a bit that is nearly always the same costs ~1/1000 of a bit, not 1/50), and a
/// magnitude below 2^12 is coded bit by bit under one probability per prefix of its bits — an
/// adaptive histogram of the magnitudes, which learns the digits sensors print (a float32 reading's
/// last decimal is far from uniform). Wider magnitudes code three bits after the leading one that
/// way and the rest 16 at a time with probability ½.
///
/// Per value: the zero flag under the two previous size classes; the bit width − 1 through a 6-level
/// tree, or relative to the previous width (`RangeCoder.Widths`); the bits after the leading one;
/// the sign. A value's width context is its predecessor's level (`RangeCoder.Levels`, one a value)
/// or else the previous value's size class.
enum TreeModel {
    static let treeWidth = 12
    static let topBits = 3
    static let directChunk = 16

    /// Where each model lives in one buffer of probabilities.
    enum Slots {
        static let zero = 0  // 4 × 4: by the two previous size classes
        static let width = 16  // 4 × 64 nodes: by the previous size class; or 16 × 64 by level
        static let tree = width + 16 * 64  // widths 2…12: [2^(w−1) − 1 + prefix]
        static let top = tree + (1 << TreeModel.treeWidth)  // widths 13…64: [w · 8 + prefix]
        static let sign = top + 65 * 8  // 3 × 3
        // Relative widths: by the previous non-zero width (1…64) and the width context (16).
        static let changed = sign + 9  // the width differs from the previous one
        static let up = changed + 64 * 16  // it is larger
        static let steps = up + 64 * 16  // one more step: by previous width, direction, step (≤ 8)
        static let count = steps + 64 * 2 * 8

        /// The `changed` and `up` index for a previous width (1…64) and a width context (0…15).
        @inline(__always)
        static func widthAt(_ previous: Int, _ context: Int) -> Int { (previous - 1) * 16 + context }

        /// Where the `steps` of a move from `previous` lie: step j (≥ 1) at `+ min(j, 8)`.
        @inline(__always)
        static func stepBase(_ previous: Int, up: Bool) -> Int { steps + ((previous - 1) * 2 + (up ? 1 : 0)) * 8 - 1 }
    }

    /// One stream's probabilities, behind a pointer: the coding loops index it directly (a closure
    /// over an array's buffer kept the coder's state in memory instead of registers).
    final class Buffer: @unchecked Sendable {
        let p = UnsafeMutablePointer<UInt32>.allocate(capacity: Slots.count)
        deinit { p.deallocate() }
    }

    /// Buffers kept for the next stream: coding allocates none in the steady state (a fresh 23 KB
    /// buffer per stream left a long-running agent's heap fragmented).
    static let spare = Mutex<[Buffer]>([])

    // The loops keep the coder, the probabilities' pointer and the previous width in locals: one
    // value's coding as a method of a struct holding them decoded slower (docs/benchmarks.md).
    static func encode(_ values: [UInt64], levels: [UInt8]?, widths: RangeCoder.Widths) -> [UInt8] {
        let buffer = TreeModel.spare.withLock { $0.popLast() } ?? Buffer()
        defer { TreeModel.spare.withLock { if $0.count < 4 { $0.append(buffer) } } }
        let p = buffer.p
        p.update(repeating: RangeCoder.fineInit, count: Slots.count)
        var e = RangeEncoder()
        e.out.reserveCapacity(values.count / 2 + 16)
        var h = RangeCoder.History()
        let relative = widths == .relative
        var previousWidth = 1
        for (i, u) in values.enumerated() {
            let (mag, negative) = RangeCoder.split(u)
            let context = levels.map { Int($0[i]) } ?? h.c1
            e.fineBit(&p[Slots.zero + h.c1 * 4 + h.c2], mag != 0)
            if mag != 0 {
                let w = 64 - mag.leadingZeroBitCount
                if relative {
                    let at = Slots.widthAt(previousWidth, context)
                    let d = w - previousWidth
                    e.fineBit(&p[Slots.changed + at], d != 0)
                    if d != 0 {
                        e.fineBit(&p[Slots.up + at], d > 0)
                        let room = d > 0 ? 64 - previousWidth : previousWidth - 1
                        let stepBase = Slots.stepBase(previousWidth, up: d > 0)
                        let k = abs(d)
                        var j = 1
                        while j < room {  // at `room` steps the end is implied
                            e.fineBit(&p[stepBase + min(j, 8)], j < k)
                            if j == k { break }
                            j += 1
                        }
                    }
                    previousWidth = w
                } else {
                    let widthContext = Slots.width + context * 64
                    var node = 1
                    var level = 5
                    while level >= 0 {
                        let b = ((w - 1) >> level) & 1
                        e.fineBit(&p[widthContext + node], b == 1)
                        node = node << 1 | b
                        level -= 1
                    }
                }
                var prefix = 1
                if w <= TreeModel.treeWidth {
                    let base = Slots.tree + (1 << (w - 1)) - 1
                    var k = w - 2
                    while k >= 0 {  // (a stride here was not inlined: 6 % of encoding)
                        let b = Int(truncatingIfNeeded: mag >> UInt64(k)) & 1
                        e.fineBit(&p[base + prefix], b == 1)
                        prefix = prefix << 1 | b
                        k -= 1
                    }
                } else {
                    var k = w - 2
                    while k > w - 2 - TreeModel.topBits {
                        let b = Int(truncatingIfNeeded: mag >> UInt64(k)) & 1
                        e.fineBit(&p[Slots.top + w * 8 + prefix], b == 1)
                        prefix = prefix << 1 | b
                        k -= 1
                    }
                    var left = w - 1 - TreeModel.topBits
                    while left > 0 {
                        let c = min(left, TreeModel.directChunk)
                        left -= c
                        e.direct((mag >> UInt64(left)) & ((1 << UInt64(c)) - 1), count: c)
                    }
                }
                e.fineBit(&p[Slots.sign + h.signContext(mag)], negative)
            }
            h.advance(mag, negative: negative)
        }
        return e.finish()
    }

    static func decode(
        count: Int, from raw: UnsafeRawBufferPointer, _ from: Int, _ to: Int, levels: RangeCoder.Levels?,
        widths: RangeCoder.Widths, into out: inout [UInt64]
    ) throws(DecodeError) {
        let buffer = TreeModel.spare.withLock { $0.popLast() } ?? Buffer()
        defer { TreeModel.spare.withLock { if $0.count < 4 { $0.append(buffer) } } }
        let p = buffer.p
        p.update(repeating: RangeCoder.fineInit, count: Slots.count)
        var d = RangeDecoder(raw, from: from, to: to)
        var h = RangeCoder.History()
        var levels = levels
        var level = 0
        out.reserveCapacity(out.count + count)
        let relative = widths == .relative
        var previousWidth = 1
        for _ in 0..<count {
            let context = levels == nil ? h.c1 : level
            var mag: UInt64 = 0
            var negative = false
            if d.fineBit(&p[Slots.zero + h.c1 * 4 + h.c2]) {
                var w: Int
                if relative {
                    w = previousWidth
                    let at = Slots.widthAt(previousWidth, context)
                    if d.fineBit(&p[Slots.changed + at]) {
                        let up = d.fineBit(&p[Slots.up + at])
                        let room = up ? 64 - previousWidth : previousWidth - 1
                        let stepBase = Slots.stepBase(previousWidth, up: up)
                        var k = 1
                        while k < room && d.fineBit(&p[stepBase + min(k, 8)]) { k += 1 }
                        // A corrupt stream can step past 1 or 64; it stays a wrong value, not a wrong index.
                        w = min(64, max(1, up ? previousWidth + k : previousWidth - k))
                    }
                    previousWidth = w
                } else {
                    let widthContext = Slots.width + context * 64
                    var node = 1
                    for _ in 0..<6 { node = node << 1 | (d.fineBit(&p[widthContext + node]) ? 1 : 0) }
                    w = node - 64 + 1
                }
                var prefix = 1
                if w <= TreeModel.treeWidth {
                    let base = Slots.tree + (1 << (w - 1)) - 1
                    for _ in 0..<(w - 1) { prefix = prefix << 1 | (d.fineBit(&p[base + prefix]) ? 1 : 0) }
                    mag = UInt64(prefix)
                } else {
                    for _ in 0..<TreeModel.topBits {
                        prefix = prefix << 1 | (d.fineBit(&p[Slots.top + w * 8 + prefix]) ? 1 : 0)
                    }
                    mag = UInt64(prefix)
                    var left = w - 1 - TreeModel.topBits
                    while left > 0 {
                        let c = min(left, TreeModel.directChunk)
                        left -= c
                        mag = mag << UInt64(c) | d.direct(count: c)
                    }
                }
                negative = d.fineBit(&p[Slots.sign + h.signContext(mag)])
            }
            if d.overrun { throw DecodeError("range-coded values end early", offset: to) }
            let z = RangeCoder.join(mag, negative: negative)
            out.append(z)
            h.advance(mag, negative: negative)
            if levels != nil { level = levels!.next(z) }
        }
    }
}
