/// A little-endian byte writer with LEB128 varints; the one way the engine builds binary records.
package struct ByteWriter {
    package var bytes: [UInt8]

    package init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    package var count: Int { bytes.count }

    package mutating func u8(_ v: UInt8) { bytes.append(v) }

    package mutating func u16(_ v: UInt16) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    package mutating func u32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    package mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    package mutating func f64(_ v: Double) { u64(v.bitPattern) }

    package mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    package mutating func svarint(_ v: Int64) { varint(ZigZag.encode(v)) }

    package mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }

    /// Overwrites four bytes at `offset` (used to patch lengths after the fact).
    package mutating func patchU32(_ v: UInt32, at offset: Int) {
        let le = v.littleEndian
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: le >> (8 * UInt32(i))) }
    }
}

/// Why decoding stopped: always a value, never a trap.
package struct DecodeError: Error, CustomStringConvertible, Equatable {
    package var message: String
    package var offset: Int
    package init(_ message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }
    package var description: String { "\(message) at byte \(offset)" }
}

/// A bounds-checked little-endian reader over untrusted bytes.
package struct ByteReader {
    package let bytes: UnsafeRawBufferPointer
    package var offset: Int
    package let end: Int

    package init(_ bytes: UnsafeRawBufferPointer, from: Int = 0, to: Int? = nil) {
        self.bytes = bytes
        self.offset = from
        self.end = min(to ?? bytes.count, bytes.count)
    }

    package var remaining: Int { end - offset }

    package mutating func need(_ n: Int, _ what: String) throws(DecodeError) {
        if n < 0 || n > end - offset { throw DecodeError("truncated \(what)", offset: offset) }
    }

    package mutating func u8(_ what: String = "byte") throws(DecodeError) -> UInt8 {
        try need(1, what)
        defer { offset += 1 }
        return bytes[offset]
    }

    package mutating func u16(_ what: String = "u16") throws(DecodeError) -> UInt16 {
        try need(2, what)
        defer { offset += 2 }
        return bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self).littleEndian
    }

    package mutating func u32(_ what: String = "u32") throws(DecodeError) -> UInt32 {
        try need(4, what)
        defer { offset += 4 }
        return bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian
    }

    package mutating func u64(_ what: String = "u64") throws(DecodeError) -> UInt64 {
        try need(8, what)
        defer { offset += 8 }
        return bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian
    }

    package mutating func f64(_ what: String = "f64") throws(DecodeError) -> Double {
        Double(bitPattern: try u64(what))
    }

    package mutating func varint(_ what: String = "varint") throws(DecodeError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try u8(what)
            if shift == 63 && b > 1 { throw DecodeError("varint overflow in \(what)", offset: offset - 1) }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift > 63 { throw DecodeError("varint too long in \(what)", offset: offset) }
        }
    }

    package mutating func svarint(_ what: String = "varint") throws(DecodeError) -> Int64 {
        ZigZag.decode(try varint(what))
    }

    /// A varint that must be at most `limit` (a count or a length).
    package mutating func count(_ what: String, limit: Int) throws(DecodeError) -> Int {
        let v = try varint(what)
        if v > UInt64(limit) { throw DecodeError("\(what) \(v) exceeds \(limit)", offset: offset) }
        return Int(v)
    }

    /// A sub-range of `n` bytes, returned as its start offset.
    package mutating func skip(_ n: Int, _ what: String) throws(DecodeError) -> Int {
        try need(n, what)
        defer { offset += n }
        return offset
    }
}

package enum ZigZag {
    @inline(__always) package static func encode(_ v: Int64) -> UInt64 {
        UInt64(bitPattern: (v << 1) ^ (v >> 63))
    }
    @inline(__always) package static func decode(_ u: UInt64) -> Int64 {
        Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1)
    }
}
