internal import Synchronization

/// The tree layout's adaptive probabilities, for every integer stream written now, and how one
/// value goes through them. 16-bit probabilities adapt fast while a context is young
/// (`RangeCoder.adapt`; a bit that is nearly always the same costs ~1/1000 of a bit, not 1/50), and a
/// magnitude below 2^12 is coded bit by bit under one probability per prefix of its bits — an
/// adaptive histogram of the magnitudes, which learns the digits sensors print (a float32 reading's
/// last decimal is far from uniform). Wider magnitudes code three bits after the leading one that
/// way and the rest 16 at a time with probability ½.
///
/// Per value: the zero flag under the two previous size classes; the bit width − 1 through a 6-level
/// tree, or relative to the previous width (`RangeCoder.Widths`); the bits after the leading one;
/// the sign. `RangeCoder` drives it value by value and gives each value's width context.
struct TreeModel {
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

    private let buffer: Buffer
    private let p: UnsafeMutablePointer<UInt32>
    private let relative: Bool
    /// The previous non-zero value's width (`relative` widths).
    private var previousWidth = 1

    /// Fresh probabilities (a spare buffer's, reset); `release()` hands them back.
    init(widths: RangeCoder.Widths) {
        buffer = TreeModel.spare.withLock { $0.popLast() } ?? Buffer()
        buffer.p.update(repeating: RangeCoder.fineInit, count: Slots.count)
        p = buffer.p
        relative = widths == .relative
    }

    /// Keeps the buffer for the next stream (at most 4 are kept).
    func release() {
        TreeModel.spare.withLock { if $0.count < 4 { $0.append(buffer) } }
    }

    /// Codes one value (its magnitude and sign): `context` is its width context, `h` the previous
    /// values' size classes and sign.
    @inline(__always)
    mutating func encode(
        _ mag: UInt64, negative: Bool, context: Int, _ h: RangeCoder.History, into e: inout RangeEncoder
    ) {
        e.fineBit(&p[Slots.zero + h.c1 * 4 + h.c2], mag != 0)
        guard mag != 0 else { return }
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

    /// What `encode` wrote in the same contexts.
    @inline(__always)
    mutating func decode(context: Int, _ h: RangeCoder.History, from d: inout RangeDecoder)
        -> (magnitude: UInt64, negative: Bool)
    {
        guard d.fineBit(&p[Slots.zero + h.c1 * 4 + h.c2]) else { return (0, false) }
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
        var mag: UInt64
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
        return (mag, d.fineBit(&p[Slots.sign + h.signContext(mag)]))
    }
}
