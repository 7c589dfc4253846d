internal import AliceFormat
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

    /// Parses ASCII bytes: plain decimals (`-12.375`, at most 15 significant digits) directly and
    /// exactly — `Double(k) / 10^e` is the correctly rounded value when both are exact — anything
    /// else through `parse(_:)`.
    public static func parse(bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        var i = 0, n = bytes.count
        while i < n && (bytes[i] == 0x20 || bytes[i] == 0x09) { i += 1 }
        while n > i && (bytes[n - 1] == 0x20 || bytes[n - 1] == 0x09) { n -= 1 }
        var negative = false
        var j = i
        if j < n && (bytes[j] == UInt8(ascii: "-") || bytes[j] == UInt8(ascii: "+")) {
            negative = bytes[j] == UInt8(ascii: "-")
            j += 1
        }
        var k: Int64 = 0, digits = 0, fraction = 0, seenDot = false, seenDigit = false
        while j < n {
            let c = bytes[j]
            if c >= 0x30 && c <= 0x39 {
                seenDigit = true
                if k > 0 || c != 0x30 { digits += 1 }
                if digits > 15 { break }
                k = k * 10 + Int64(c - 0x30)
                if seenDot { fraction += 1 }
            } else if c == UInt8(ascii: ".") && !seenDot {
                seenDot = true
            } else {
                break
            }
            j += 1
        }
        if j == n && seenDigit && digits <= 15 && fraction <= 22 {
            var v = Double(k)
            if fraction > 0 { v /= PowersOfTen.table[fraction] }
            return negative ? -v : v
        }
        guard i < n else { return nil }
        return parse(String(decoding: UnsafeBufferPointer(rebasing: bytes[i..<n]), as: UTF8.self))
    }

    /// Parses ASCII digits (optional sign, surrounding blanks) as an Int64; nil on anything else or overflow.
    public static func parseInteger(bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0, n = bytes.count
        while i < n && (bytes[i] == 0x20 || bytes[i] == 0x09) { i += 1 }
        while n > i && (bytes[n - 1] == 0x20 || bytes[n - 1] == 0x09) { n -= 1 }
        guard i < n else { return nil }
        var negative = false
        if bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        guard i < n else { return nil }
        var v: Int64 = 0
        while i < n {
            let c = bytes[i]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = negative ? m.subtractingReportingOverflow(Int64(c - 0x30)) : m.addingReportingOverflow(Int64(c - 0x30))
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        return v
    }

    /// A timestamp: an integer (`parseInteger`), or a number with nothing after its point
    /// (`1262304000000.0`, `1.2623e12`: what a float column of a spreadsheet or pandas writes)
    /// that is a whole number below 2^63; nil on a fraction or anything else.
    public static func parseTimestamp(bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        if let t = parseInteger(bytes: bytes) { return t }
        guard let v = parse(bytes: bytes), v.isFinite, v == v.rounded(), abs(v) < 9.2e18 else { return nil }
        return Int64(v)
    }

    /// Parses what `format` writes, plus the usual decimal and exponent forms, between blanks.
    /// Rejects values that overflow to infinity unless written as `inf`.
    public static func parse<S: StringProtocol>(_ raw: S) -> Double? {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = raw.firstIndex(where: { !blank($0) }), let last = raw.lastIndex(where: { !blank($0) }) else {
            return nil
        }
        let text = raw[first...last]
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

    /// The next line's bytes (without `\n` / `\r\n`) lent to `body`; nil at the end.
    public mutating func nextBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R? {
        while true {
            let found: Int? = buffer.withUnsafeBufferPointer { b in
                var i = start
                while i < b.count {
                    if b[i] == UInt8(ascii: "\n") { return i }
                    i += 1
                }
                return nil
            }
            if found != nil || eof {
                guard let nl = found ?? (start < buffer.count ? buffer.count : nil) else { return nil }
                var end = nl
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let (s, e) = (start, end)
                bytesRead += min(nl + 1, buffer.count) - start
                start = min(nl + 1, buffer.count)
                lineNumber += 1
                return try buffer.withUnsafeBufferPointer { b in
                    try body(UnsafeBufferPointer(rebasing: b[s..<e]))
                }
            }
            try fill()
        }
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
