/// Finds the line of a key in TOML text, so that a semantic error can name it
/// (the parser reports lines only for syntax errors).
package struct TOMLLocator {
    /// (table path, index among same-named array tables, key) → 1-based line.
    private var lines: [String: Int] = [:]
    private var tableLines: [String: Int] = [:]

    package init(_ text: String) {
        var table = ""
        var arrayCounts: [String: Int] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.hasPrefix("[[") {
                let name = String(line.dropFirst(2).prefix { $0 != "]" }).trimmed
                let i = arrayCounts[name, default: -1] + 1
                arrayCounts[name] = i
                table = "\(name)[\(i)]"
                tableLines[table] = n + 1
            } else if line.hasPrefix("[") {
                table = String(line.dropFirst().prefix { $0 != "]" }).trimmed
                tableLines[table] = n + 1
            } else if let eq = line.firstIndex(of: "="), !line.hasPrefix("#") {
                var key = String(line[..<eq]).trimmed
                if key.hasPrefix("\""), key.hasSuffix("\""), key.count >= 2 { key = String(key.dropFirst().dropLast()) }
                if lines["\(table).\(key)"] == nil { lines["\(table).\(key)"] = n + 1 }
            }
        }
    }

    /// The line of `key` in `table` (e.g. "mqtt", "subscribe[1]"), of the header when `key` names a
    /// table of its own, else of `table`'s header.
    package func line(table: String, key: String?) -> Int? {
        if let key, let l = lines["\(table).\(key)"] ?? tableLines[table.isEmpty ? key : "\(table).\(key)"] {
            return l
        }
        return tableLines[table]
    }
}

extension StringProtocol {
    package var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
