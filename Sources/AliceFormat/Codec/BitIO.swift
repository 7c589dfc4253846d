/// Appends bit fields, least-significant bit first, to a byte array.
package struct BitWriter {
    package private(set) var bytes: [UInt8] = []
    private var acc: UInt64 = 0
    private var filled: Int = 0

    package init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    /// Writes the low `n` bits of `value` (0...64).
    @inline(__always)
    package mutating func write(_ value: UInt64, bits n: Int) {
        if n == 0 { return }
        let v = n == 64 ? value : value & ((1 << UInt64(n)) - 1)
        acc |= v << UInt64(filled)
        let total = filled + n
        if total >= 64 {
            flushWord()
            // Bits of v that did not fit in the previous word.
            let used = 64 - filled
            acc = used == 64 ? 0 : v >> UInt64(used)
            filled = total - 64
        } else {
            filled = total
        }
    }

    /// Writes `count` one-bits followed by a zero bit (unary code).
    @inline(__always)
    package mutating func writeUnary(_ count: Int) {
        var c = count
        while c >= 32 {
            write(0xFFFF_FFFF, bits: 32)
            c -= 32
        }
        write((1 << UInt64(c)) - 1, bits: c + 1)
    }

    @inline(__always)
    private mutating func flushWord() {
        withUnsafeBytes(of: acc.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// The written bits, padded with zeros to a whole byte.
    package mutating func finish() -> [UInt8] {
        var n = filled
        var a = acc
        while n > 0 {
            bytes.append(UInt8(truncatingIfNeeded: a))
            a >>= 8
            n -= 8
        }
        acc = 0
        filled = 0
        return bytes
    }
}

/// Reads bit fields written by `BitWriter` from untrusted bytes; over-reads throw, never trap.
package struct BitReader {
    private let base: UnsafeRawBufferPointer
    private let start: Int
    private let byteCount: Int
    private var bitPos: Int = 0

    package init(_ base: UnsafeRawBufferPointer, offset: Int, count: Int) {
        self.base = base
        self.start = offset
        self.byteCount = count
    }

    package var bitsLeft: Int { byteCount * 8 - bitPos }

    @inline(__always)
    private func peek64(at bit: Int) -> UInt64 {
        let byte = bit >> 3
        let shift = UInt64(bit & 7)
        var word: UInt64 = 0
        if byte + 8 <= byteCount {
            word = base.loadUnaligned(fromByteOffset: start + byte, as: UInt64.self).littleEndian
        } else {
            var i = 0
            while byte + i < byteCount && i < 8 {
                word |= UInt64(base[start + byte + i]) << UInt64(8 * i)
                i += 1
            }
        }
        return word >> shift
    }

    @inline(__always)
    package mutating func read(bits n: Int) throws(DecodeError) -> UInt64 {
        if n == 0 { return 0 }
        if n > bitsLeft { throw DecodeError("bit stream truncated", offset: start + (bitPos >> 3)) }
        var v: UInt64
        if n <= 56 {
            v = peek64(at: bitPos) & ((1 << UInt64(n)) - 1)
        } else {
            let lo = peek64(at: bitPos) & ((1 << 32) - 1)
            let hi = peek64(at: bitPos + 32) & (n == 64 ? UInt64(UInt32.max) : ((1 << UInt64(n - 32)) - 1))
            v = lo | hi << 32
        }
        bitPos += n
        return v
    }

    /// Counts one-bits up to the next zero bit, at most `limit`; consumes the zero if it came first.
    @inline(__always)
    package mutating func readUnary(limit: Int) throws(DecodeError) -> Int {
        var count = 0
        while true {
            if bitsLeft <= 0 { throw DecodeError("unary code truncated", offset: start + (bitPos >> 3)) }
            let avail = min(56, bitsLeft)
            let word = peek64(at: bitPos)
            let ones = (~word).trailingZeroBitCount
            if ones < avail {
                let take = min(ones, limit - count)
                count += take
                bitPos += take
                if count == limit { return count }
                bitPos += 1  // the terminating zero
                return count
            }
            let take = min(avail, limit - count)
            count += take
            bitPos += take
            if count == limit { return count }
        }
    }
}
