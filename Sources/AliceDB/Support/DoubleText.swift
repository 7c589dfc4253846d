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
        var i = 0
        var n = bytes.count
        while i < n && (bytes[i] == 0x20 || bytes[i] == 0x09) { i += 1 }
        while n > i && (bytes[n - 1] == 0x20 || bytes[n - 1] == 0x09) { n -= 1 }
        var negative = false
        var j = i
        if j < n && (bytes[j] == UInt8(ascii: "-") || bytes[j] == UInt8(ascii: "+")) {
            negative = bytes[j] == UInt8(ascii: "-")
            j += 1
        }
        var k: Int64 = 0
        var digits = 0
        var fraction = 0
        var seenDot = false
        var seenDigit = false
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
        var i = 0
        var n = bytes.count
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
            let (a, o2) =
                negative ? m.subtractingReportingOverflow(Int64(c - 0x30)) : m.addingReportingOverflow(Int64(c - 0x30))
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
