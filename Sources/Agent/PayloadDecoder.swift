internal import AliceDB
internal import FoundationEssentials

/// A JSON value, decoded without Foundation's JSONSerialization.
indirect enum JSONValue: Decodable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    /// The value at a dotted path (`electrical.voltage`, `values.0`).
    func at(_ path: String) -> JSONValue? {
        var v = self
        for part in path.split(separator: ".") {
            switch v {
            case .object(let o):
                guard let x = o[String(part)] else { return nil }
                v = x
            case .array(let a):
                guard let i = Int(part), i >= 0, i < a.count else { return nil }
                v = a[i]
            default: return nil
            }
        }
        return v
    }
}

/// Why a payload was refused; counted per subscription.
public struct PayloadError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// Where messages on one exact topic go: the first matching subscription and its series names,
/// worked out once per topic (topics repeat; matching and template expansion need not).
public struct Route: Sendable {
    /// Index into the configuration's subscriptions; nil when none matches.
    public var subscription: Int?
    /// Every subscription whose filter matches, in order (the first maps the message; all hear it).
    public var matching: [Int]
    /// number: one name; json: one per field, in the subscription's order (nil: the topic lacks a level).
    public var series: [String?]

    public init(topic: String, subscriptions: [Subscription]) {
        matching = subscriptions.indices.filter { TopicFilter.matches(subscriptions[$0].topic, topic) }
        guard let i = matching.first else {
            subscription = nil
            series = []
            return
        }
        subscription = i
        let s = subscriptions[i]
        switch s.format {
        case .number: series = [TopicFilter.expand(s.series, topic: topic)]
        case .json: series = s.fields.map { TopicFilter.expand($0.series, topic: topic) }
        }
    }
}

/// Turns one MQTT message into points, following its subscription.
public enum PayloadDecoder {
    /// A `number` payload: plain decimal text.
    public static func number(_ payload: [UInt8], subscription s: Subscription) throws(PayloadError) -> Double {
        try checkSize(payload, s)
        let v = payload.withUnsafeBufferPointer { DoubleText.parse(bytes: $0) }
        guard let v else { throw PayloadError(message: "not a number: \(preview(payload))") }
        guard !v.isNaN else { throw PayloadError(message: "NaN is not a reading") }
        return v
    }

    /// A `json` payload: every mapped field present, as (field index, timestamp in epoch ms, value).
    /// Either all of a message's points or none (an error).
    public static func json(
        _ payload: [UInt8], topic: String, subscription s: Subscription, series: [String?], arrivalMillis: Int64
    ) throws(PayloadError) -> [(field: Int, ts: Int64, value: Double)] {
        try checkSize(payload, s)
        let json: JSONValue
        do { json = try JSONDecoder().decode(JSONValue.self, from: Data(payload)) } catch {
            throw PayloadError(message: "not JSON: \(preview(payload))")
        }
        var t = arrivalMillis
        if let field = s.timestampField {
            guard let tv = json.at(field) else { throw PayloadError(message: "timestamp field \(field) missing") }
            t = try timestamp(tv, field)
        }
        var out = [(field: Int, ts: Int64, value: Double)]()
        for (i, (template, path)) in s.fields.enumerated() {
            let v: Double
            switch json.at(path) {
            case .number(let d)?: v = d
            case .string(let str)?:
                guard let d = DoubleText.parse(str), !d.isNaN else {
                    throw PayloadError(message: "field \(path) is not a number: \(str.prefix(40))")
                }
                v = d
            case .bool(let b)?: v = b ? 1 : 0
            case nil, .null?: continue  // a message may carry only some of the fields
            default: throw PayloadError(message: "field \(path) is not a number")
            }
            guard i < series.count, series[i] != nil else {
                throw PayloadError(message: "topic \(topic) lacks a level of \(template)")
            }
            out.append((i, t, v))
        }
        guard !out.isEmpty else { throw PayloadError(message: "none of the mapped fields present") }
        return out
    }

    static func checkSize(_ payload: [UInt8], _ s: Subscription) throws(PayloadError) {
        guard payload.count <= s.maxPayload else {
            throw PayloadError(message: "payload of \(payload.count) bytes exceeds \(s.maxPayload)")
        }
    }

    /// Epoch seconds / ms / µs / ns (by magnitude) or RFC 3339 text, to epoch milliseconds.
    static func timestamp(_ v: JSONValue, _ field: String) throws(PayloadError) -> Int64 {
        switch v {
        case .number(let d):
            guard d.isFinite, d > 0 else { throw PayloadError(message: "timestamp \(field) = \(d)") }
            let ms: Double
            switch d {
            case ..<1e11: ms = d * 1000  // seconds
            case ..<1e14: ms = d  // ms
            case ..<1e17: ms = d / 1000  // µs
            default: ms = d / 1_000_000  // ns
            }
            // Past Int64 (≥ 9.2e24 "ns") the conversion would trap: one message must not stop the agent.
            guard let t = Int64(exactly: ms.rounded()) else {
                throw PayloadError(message: "timestamp \(field) = \(d) is out of range")
            }
            return t
        case .string(let s):
            if let d = Double(s) { return try timestamp(.number(d), field) }
            guard let ms = RFC3339.millis(s) else {
                throw PayloadError(message: "timestamp \(field) is not RFC 3339: \(s.prefix(40))")
            }
            return ms
        default:
            throw PayloadError(message: "timestamp \(field) is not a number or text")
        }
    }

    static func preview(_ p: [UInt8]) -> String {
        let s = String(decoding: p.prefix(40), as: UTF8.self)
        return "\"\(s)\"" + (p.count > 40 ? "…" : "")
    }
}
