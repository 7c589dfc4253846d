/// Request parameters from a query string or an `application/x-www-form-urlencoded` body
/// (`+` is a space, `%XX` a byte), with typed getters whose errors name the parameter.
public struct Parameters: Sendable {
    /// Every value of each key, in order (`match[]` may repeat); the getters take the first.
    private(set) var lists: [String: [String]] = [:]

    public init(_ encoded: String?) { if let encoded { add(encoded) } }

    public mutating func add(_ encoded: String) {
        for pair in encoded.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Parameters.decode(kv[0])
            let value = kv.count > 1 ? Parameters.decode(kv[1]) : ""
            lists[key, default: []].append(value)
        }
    }

    static func decode(_ s: Substring) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(s.utf8.count)
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else if b == UInt8(ascii: "%"), it.count >= 2, let h = hex(it[it.startIndex]),
                let l = hex(it[it.startIndex + 1])
            {
                bytes.append(h << 4 | l)
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    public subscript(_ key: String) -> String? { lists[key]?.first }

    /// Every value given for `key`.
    public func all(_ key: String) -> [String] { lists[key] ?? [] }

    func required(_ key: String) throws(QueryError) -> String {
        guard let v = self[key], !v.isEmpty else { throw .badRequest("missing parameter '\(key)'") }
        return v
    }

    func int64(_ key: String) throws(QueryError) -> Int64? {
        guard let v = self[key], !v.isEmpty else { return nil }
        guard let i = Int64(v) else {
            throw .badRequest("parameter '\(key)' must be an integer timestamp, not '\(v.prefix(40))'")
        }
        return i
    }
}
