package import TOMLKit

/// A configuration mistake: which file, line and key, and what is wrong; the underlying error (the
/// TOML parser's, the file system's) and where in our source it was raised.
public struct ConfigError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    public var file: String
    public var line: Int?
    public var key: String?
    public var message: String
    public var cause: (any Error)?
    /// `Module/File.swift:line` of the throw.
    public var location: String

    public init(
        file: String, line: Int? = nil, key: String? = nil, message: String, cause: (any Error)? = nil,
        sourceFileID: String = #fileID, sourceLine: Int = #line
    ) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        self.cause = cause
        self.location = "\(sourceFileID):\(sourceLine)"
    }

    public var debugDescription: String {
        "\(description) [at \(location)\(cause.map { ", cause: \(String(reflecting: $0))" } ?? "")]"
    }

    public var description: String {
        "\(file)\(line.map { ":\($0)" } ?? ""): \(key.map { "\($0): " } ?? "")\(message)"
    }
}

/// A TOML table as the configurations read it (through `ConfigReader`: only this module imports TOMLKit).
package typealias ConfigTable = TOMLTable

/// Typed access to TOML values with errors that point at the line.
package struct ConfigReader {
    package let file: String
    package let locator: TOMLLocator

    package init(file: String, locator: TOMLLocator) {
        self.file = file
        self.locator = locator
    }

    /// Parses TOML text; a syntax error names the file and line.
    package static func parse(_ text: String, file: String) throws(ConfigError) -> (TOMLTable, ConfigReader) {
        if let line = TableHeaderCheck.firstBadHeader(text) {
            throw ConfigError(
                file: file, line: line,
                message: "TOML syntax: a table header must name a bare key (letters, digits, _ or -) or a quoted one")
        }
        do {
            return (try TOMLTable(string: text), ConfigReader(file: file, locator: TOMLLocator(text)))
        } catch let e as TOMLParseError {
            throw ConfigError(
                file: file, line: e.source.begin.line, message: "TOML syntax: \(e.description)", cause: e)
        } catch {
            throw ConfigError(file: file, message: "TOML syntax: \(error)", cause: error)
        }
    }

    package func error(
        _ table: String, _ key: String?, _ message: String, sourceFileID: String = #fileID, sourceLine: Int = #line
    ) -> ConfigError {
        let name = [table.isEmpty ? nil : table, key].compactMap { $0 }.joined(separator: ".")
        return ConfigError(
            file: file, line: locator.line(table: table, key: key), key: name.isEmpty ? nil : name, message: message,
            sourceFileID: sourceFileID, sourceLine: sourceLine)
    }

    package func allow(_ t: TOMLTable, table: String, keys: Set<String>) throws(ConfigError) {
        for k in t.keys where !keys.contains(k) {
            throw error(table, k, "unknown key (known: \(keys.sorted().joined(separator: ", ")))")
        }
    }

    /// The tables of `[[key]]` in order (nil when there is none).
    package func tables(_ t: TOMLTable, _ key: String) throws(ConfigError) -> [TOMLTable]? {
        guard let v = t[key] else { return nil }
        guard let array = v.array else { throw error("", key, "must be an array of tables ([[\(key)]])") }
        var out = [TOMLTable]()
        for i in 0..<array.count {
            guard let e = array[i].table else { throw error("\(key)[\(i)]", nil, "must be a table") }
            out.append(e)
        }
        return out
    }

    /// Whether the table sets `key`.
    package func has(_ t: TOMLTable, _ key: String) -> Bool { t.contains(key: key) }

    /// A table's keys, sorted.
    package func keys(_ t: TOMLTable) -> [String] { t.keys.sorted() }

    package func table(_ t: TOMLTable, _ key: String, in table: String) throws(ConfigError) -> TOMLTable? {
        guard let v = t[key] else { return nil }
        guard let x = v.table else { throw error(table, key, "must be a table") }
        return x
    }

    package func string(_ t: TOMLTable, _ key: String, _ table: String) throws(ConfigError) -> String? {
        guard let v = t[key] else { return nil }
        guard let s = v.string else { throw error(table, key, "must be a string") }
        return s
    }

    package func bool(_ t: TOMLTable, _ key: String, _ table: String) throws(ConfigError) -> Bool? {
        guard let v = t[key] else { return nil }
        guard let b = v.bool else { throw error(table, key, "must be true or false") }
        return b
    }

    package func int(_ t: TOMLTable, _ key: String, _ table: String, _ range: ClosedRange<Int>) throws(ConfigError)
        -> Int?
    {
        guard let v = t[key] else { return nil }
        guard let i = v.int else { throw error(table, key, "must be an integer") }
        guard range.contains(i) else {
            throw error(table, key, "must be in \(range.lowerBound)...\(range.upperBound), not \(i)")
        }
        return i
    }

    package func double(_ t: TOMLTable, _ key: String, _ table: String) throws(ConfigError) -> Double? {
        guard let v = t[key] else { return nil }
        // TOML has inf and nan; no setting means either (they trapped where they became a Duration).
        if let d = v.double {
            guard d.isFinite else { throw error(table, key, "must be a finite number, not \(d)") }
            return d
        }
        if let i = v.int { return Double(i) }
        throw error(table, key, "must be a number")
    }

    /// A listen or connect address `HOST:PORT` (`[::1]:80` for IPv6); `.some(nil)` for "" (off).
    package func address(_ t: TOMLTable, _ key: String, _ table: String) throws(ConfigError) -> (
        host: String, port: Int
    )?? {
        guard let text = try string(t, key, table) else { return nil }
        if text.isEmpty { return .some(nil) }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port), colon > text.startIndex
        else { throw error(table, key, "must be HOST:PORT such as 127.0.0.1:9464, or \"\" for off") }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return .some((host, port))
    }

    /// A byte size: an integer, or a string such as "8MiB", "512 KiB", "2GB".
    package func size(_ t: TOMLTable, _ key: String, _ table: String) throws(ConfigError) -> Int? {
        guard let v = t[key] else { return nil }
        if let i = v.int, i > 0 { return i }
        guard let s = v.string, let n = ByteSize.parse(s) else {
            throw error(table, key, "must be a size such as 8MiB, 512KiB or a byte count")
        }
        return n
    }
}

extension ConfigReader {
    /// The longest duration a setting takes, in seconds (100 years): what is longer means never,
    /// and would overflow where it becomes milliseconds or a `Duration`.
    package static let maxDuration: Double = 100 * 365.25 * 86_400

    /// A duration in seconds: a number, or a string such as "90s", "15m", "12h", "7d", "2w".
    package func duration(_ t: TOMLTable, _ key: String, _ table: String) throws(ConfigError) -> Double? {
        guard let v = t[key] else { return nil }
        let message = "must be a duration such as 7d, 12h, 30m, 90s or a number of seconds, at most 100 years"
        if let d = v.double ?? v.int.map(Double.init) {
            guard d >= 0, d <= ConfigReader.maxDuration else { throw error(table, key, message) }
            return d
        }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        guard let s = v.string?.trimmed, let unit = s.last, let f = units[unit],
            let n = Double(s.dropLast().trimmed), n >= 0, n * f <= ConfigReader.maxDuration
        else { throw error(table, key, message) }
        return n * f
    }
}

package enum ByteSize {
    package static func parse(_ text: String) -> Int? {
        let s = text.trimmed
        let digits = s.prefix { $0.isNumber || $0 == "." }
        guard let value = Double(digits), value > 0 else { return nil }
        let unit = s.dropFirst(digits.count).trimmed.lowercased()
        let factors: [String: Double] = [
            "": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1_048_576, "mb": 1e6, "mib": 1_048_576,
            "g": 1_073_741_824, "gb": 1e9, "gib": 1_073_741_824,
        ]
        guard let f = factors[unit], value * f < 0x1p62 else { return nil }  // 4 EiB: past it, Int(_:) traps
        return Int(value * f)
    }
}
