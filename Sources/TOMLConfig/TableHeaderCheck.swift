/// Table headers whose name does not start like a key (`[=]`, `[.mqtt]`, `[ {]`, `[é]`): toml++
/// (TOMLKit's parser) asserts on them, which aborts the process; in a build with `NDEBUG` it
/// assumes them away instead. They are refused here first, as the syntax errors they are.
enum TableHeaderCheck {
    /// The line (from 1) of the first table header that does not start with a bare or quoted key
    /// or `]`, or nil when every header does. Headers are recognised as toml++ does: a `[` or `[[`
    /// that starts a line outside multi-line strings and outside an array or inline table value.
    static func firstBadHeader(_ text: String) -> Int? {
        var scanner = Scanner(Array(text.utf8))
        return scanner.run()
    }

    private struct Scanner {
        let b: [UInt8]
        var i = 0
        var line = 1
        /// Open `[` and `{` of values (not of headers).
        var depth = 0

        init(_ bytes: [UInt8]) { b = bytes }

        func at(_ k: Int) -> UInt8? { k < b.count ? b[k] : nil }

        static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

        static func startsKey(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A) || c == 0x5F || c == 0x2D || c == 0x22
                || c == 0x27 || c == 0x5D
        }

        mutating func run() -> Int? {
            var lineStart = true
            // toml++ skips a UTF-8 byte order mark first (found by fuzz-agent-config: a BOM before `[{`).
            if b.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
            while let c = at(i) {
                if lineStart && Scanner.isSpace(c) {
                    i += 1
                    continue
                }
                if lineStart && depth == 0 && c == 0x5B {  // a table header
                    i += 1
                    if at(i) == 0x5B { i += 1 }
                    while let s = at(i), Scanner.isSpace(s) { i += 1 }
                    guard let first = at(i), Scanner.startsKey(first) else { return at(i) == nil ? nil : line }
                    skipLine()
                    continue
                }
                lineStart = false
                switch c {
                case 0x0A:
                    line += 1
                    lineStart = true
                    i += 1
                case 0x23: skipLine()  // a comment
                case 0x22, 0x27: string(quote: c)
                case 0x5B, 0x7B:
                    depth += 1
                    i += 1
                case 0x5D, 0x7D:
                    depth = max(0, depth - 1)
                    i += 1
                default: i += 1
                }
            }
            return nil
        }

        /// To the end of the line, its newline left for `run`.
        mutating func skipLine() {
            while let c = at(i), c != 0x0A { i += 1 }
        }

        /// A basic or literal string, one line or multi-line; newlines inside are counted.
        mutating func string(quote q: UInt8) {
            if at(i + 1) == q && at(i + 2) == q {
                i += 3
                while let c = at(i) {
                    if c == 0x5C && q == 0x22 {
                        if at(i + 1) == 0x0A { line += 1 }
                        i += 2
                        continue
                    }
                    if c == 0x0A { line += 1 }
                    if c == q && at(i + 1) == q && at(i + 2) == q {
                        i += 3
                        while at(i) == q { i += 1 }  // up to two quotes may end the content
                        return
                    }
                    i += 1
                }
                return
            }
            i += 1
            while let c = at(i), c != 0x0A {
                i += 1
                if c == 0x5C && q == 0x22 {
                    i += 1
                } else if c == q {
                    return
                }
            }
        }
    }
}
