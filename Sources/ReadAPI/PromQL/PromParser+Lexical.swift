/// The lexical pieces of PromQL: names, numbers, strings, durations and punctuation.
extension PromParser {
    var atEnd: Bool { i >= chars.count }
    var peek: Unicode.Scalar? { i < chars.count ? chars[i] : nil }

    mutating func skipSpace() {
        while let c = peek {
            if c == "#" {
                while let d = peek, d != "\n" { i += 1 }
            } else if c == " " || c == "\t" || c == "\n" || c == "\r" {
                i += 1
            } else {
                return
            }
        }
    }

    mutating func take(_ s: String) -> Bool {
        var j = i
        for c in s.unicodeScalars {
            guard j < chars.count, chars[j] == c else { return false }
            j += 1
        }
        i = j
        return true
    }

    /// A whole word (not the start of a longer identifier), case-insensitive as PromQL keywords are.
    mutating func keyword(_ word: String, peekOnly: Bool = false) -> Bool {
        let start = i
        guard let id = identifier(), id.lowercased() == word else {
            i = start
            return false
        }
        if peekOnly { i = start }
        return true
    }

    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        let v = c.value | 0x20
        return (v >= 0x61 && v <= 0x7A) || c == "_" || c == ":"
    }
    static func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    mutating func identifier() -> String? {
        guard let c = peek, PromParser.isLetter(c) else { return nil }
        let start = i
        while let c = peek, PromParser.isLetter(c) || PromParser.isDigit(c) { i += 1 }
        return String(String.UnicodeScalarView(chars[start..<i]))
    }

    /// A decimal or hexadecimal number literal (not a duration: `5m` is not a number).
    mutating func number() -> Double? {
        let start = i
        if take("0x") || take("0X") {
            let digits = i
            while let c = peek, c.properties.isASCIIHexDigit { i += 1 }
            if i > digits, let v = UInt64(String(String.UnicodeScalarView(chars[digits..<i])), radix: 16) {
                return Double(v)
            }
            i = start
            return nil
        }
        while let c = peek, PromParser.isDigit(c) { i += 1 }
        if peek == "." {
            i += 1
            while let c = peek, PromParser.isDigit(c) { i += 1 }
        }
        guard i > start, !(i == start + 1 && chars[start] == ".") else {
            i = start
            return nil
        }
        if let c = peek, c == "e" || c == "E" {
            let mark = i
            i += 1
            if let s = peek, s == "+" || s == "-" { i += 1 }
            let digits = i
            while let c = peek, PromParser.isDigit(c) { i += 1 }
            if i == digits { i = mark }
        }
        if let c = peek, PromParser.isLetter(c) {  // a duration or an identifier, not a number
            i = start
            return nil
        }
        return Double(String(String.UnicodeScalarView(chars[start..<i])))
    }

    /// `1h30m`, `5m`, `90s`, `250ms`: milliseconds.
    mutating func duration() throws(QueryError) -> Int64 {
        let units: [(String, Int64)] = [
            ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
            ("w", 604_800_000), ("y", 31_536_000_000),
        ]
        var total: Int64 = 0
        var parts = 0
        while let c = peek, PromParser.isDigit(c) {
            let start = i
            while let c = peek, PromParser.isDigit(c) { i += 1 }
            guard let n = Int64(String(String.UnicodeScalarView(chars[start..<i]))) else {
                throw fail("duration out of range")
            }
            guard let unit = units.first(where: { take($0.0) }) else {
                throw fail("bad duration: expected a unit (ms, s, m, h, d, w, y)")
            }
            let (v, o1) = n.multipliedReportingOverflow(by: unit.1)
            let (sum, o2) = total.addingReportingOverflow(v)
            guard !o1, !o2 else { throw fail("duration out of range") }
            total = sum
            parts += 1
        }
        guard parts > 0 else { throw fail("expected a duration such as 5m") }
        return total
    }

    mutating func quoted() throws(QueryError) -> String {
        guard let q = peek, q == "\"" || q == "'" || q == "`" else { throw fail("expected a quoted string") }
        i += 1
        var out = String.UnicodeScalarView()
        while let c = peek {
            i += 1
            if c == q { return String(out) }
            if c == "\\" && q != "`", let n = peek {
                i += 1
                switch n {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                default: out.append(n)
                }
            } else {
                out.append(c)
            }
        }
        throw fail("unterminated quoted string")
    }

    func fail(_ what: String) -> QueryError {
        QueryError.badRequest("parse error at char \(min(i, chars.count) + 1): \(what)")
    }
}
