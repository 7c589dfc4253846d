/// Text forms of values that parse back to the identical bits.
public enum DoubleText {
    /// Shortest round-trip decimal (`1.5`, `-0.0`, `inf`, `nan`); NaNs other than the canonical
    /// quiet NaN are written `nan:0x<bits>` so their payload survives a CSV round trip.
    public static func format(_ v: Double) -> String {
        if v.isNaN && v.bitPattern != Double.nan.bitPattern {
            return "nan:0x" + String(v.bitPattern, radix: 16)
        }
        return v.description
    }

    /// Parses what `format` writes, plus the usual decimal and exponent forms. Rejects values
    /// that overflow to infinity unless written as `inf`.
    public static func parse<S: StringProtocol>(_ text: S) -> Double? {
        if text.hasPrefix("nan:0x") {
            guard let bits = UInt64(text.dropFirst(6), radix: 16) else { return nil }
            let v = Double(bitPattern: bits)
            return v.isNaN ? v : nil
        }
        guard let v = Double(String(text)) else { return nil }
        if v.isInfinite {
            let lower = text.lowercased()
            guard lower.hasSuffix("inf") || lower.hasSuffix("infinity") else { return nil }
        }
        return v
    }
}

/// Reads a file line by line in large chunks (no Foundation), for CSV import.
public struct LineReader: ~Copyable {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false
    public let path: String
    /// 1-based number of the last line returned.
    public private(set) var lineNumber = 0
    /// Bytes consumed so far (for progress).
    public private(set) var bytesRead = 0
    public let size: Int

    public init(path: String) throws {
        self.path = path
        fd = try FileIO.open(path, write: false)
        size = (try? FileIO.size(fd, path: path)) ?? 0
    }

    deinit { FileIO.close(fd) }

    private mutating func fill() throws(AliceDBError) {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        let chunk = 1 << 20
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        let fd = self.fd, path = self.path
        let got = try buffer.withUnsafeMutableBytes { raw in
            Result { () throws(AliceDBError) -> Int in
                try FileIO.readSome(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[old...]), path: path)
            }
        }.get()
        buffer.removeLast(chunk - got)
        if got == 0 { eof = true }
    }

    /// The next line without its terminator (`\n` or `\r\n`), or nil at the end.
    public mutating func next() throws -> String? {
        while true {
            if let nl = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = nl
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                bytesRead += nl + 1 - start
                start = nl + 1
                lineNumber += 1
                return line
            }
            if eof {
                guard start < buffer.count else { return nil }
                var end = buffer.count
                if buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                bytesRead += buffer.count - start
                start = buffer.count
                lineNumber += 1
                return line
            }
            try fill()
        }
    }
}
