import AliceDB
import ArgumentParser
import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Where queries go: a local data directory (read-only open) or a cloud node's HTTP API.
/// Both answer the same queries with the same values; the commands print them alike.
protocol QuerySource {
    func get(_ series: String, at: Int64) throws -> Double?
    func scan(_ series: String, from: Int64, to: Int64, _ body: (Int64, Double) -> Void) throws
    func aggregate(_ series: String, from: Int64, to: Int64) throws -> AggregateRow
    /// One value per non-empty bucket; `from` nil: buckets start at the series' first point.
    func downsample(_ series: String, from: Int64?, to: Int64, interval: Int64, fn: Aggregation) throws -> [(
        Int64, Double?
    )]
    func series() throws -> [SeriesRow]
}

/// count, sum, avg, min, max of a range (nil where there is no numeric point).
struct AggregateRow {
    var count: Int
    var sum, avg, min, max: Double?

    func value(_ f: Aggregation) -> Double? {
        switch f {
        case .count: Double(count)
        case .sum: sum
        case .avg: avg
        case .min: min
        case .max: max
        }
    }
}

struct SeriesRow {
    var name: String
    var points: Int
    var segments: Int
    var bytes: Int
    var first: Int64?
    var last: Int64?
    var bound: ErrorBound
}

extension Database: QuerySource {
    func aggregate(_ series: String, from: Int64, to: Int64) throws -> AggregateRow {
        let r: AggregateResult = try aggregate(series, from: from, to: to)
        return AggregateRow(count: r.count, sum: r.numericCount > 0 ? r.sum : nil, avg: r.avg, min: r.min, max: r.max)
    }

    func downsample(_ series: String, from: Int64?, to: Int64, interval: Int64, fn: Aggregation) throws -> [(
        Int64, Double?
    )] {
        var start = from ?? .min
        if from == nil {
            // Buckets start at the first point, not at Int64.min.
            guard let first = try stats(series: series).series.first?.firstTimestamp else { return [] }
            start = first
        }
        return try downsample(series, from: start, to: to, interval: interval).map { b in
            (b.start, fn == .count ? Double(b.result.count) : b.result.value(fn))
        }
    }

    func series() throws -> [SeriesRow] {
        try stats().series.map {
            SeriesRow(
                name: $0.name, points: $0.points, segments: $0.segments, bytes: $0.bytes, first: $0.firstTimestamp,
                last: $0.lastTimestamp, bound: $0.bound)
        }
    }
}

/// A cloud node's query API (`/v1/...`, CSV answers: values in the text that parses back to
/// identical bits), as one gateway's data.
struct CloudSource: QuerySource {
    let base: String
    let token: String
    let gateway: String?

    /// A GET; the body and the headers of a 200, else the node's error as an AliceDBError.
    func call(_ path: String, _ params: [(String, String?)]) throws -> (body: String, headers: [(String, String)]) {
        var query = params.compactMap { k, v in v.map { "\(k)=\(CloudSource.escape($0))" } }
        if let gateway { query.append("gateway=\(CloudSource.escape(gateway))") }
        query.append("format=csv")
        let url = (base.hasSuffix("/") ? String(base.dropLast()) : base) + path + "?" + query.joined(separator: "&")
        var request: HTTPClient.Request
        do { request = try HTTPClient.Request(url: url, method: .GET) } catch {
            throw AliceDBError(.invalidArgument, "--cloud \(base): not a URL (\(error))")
        }
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response: HTTPClient.Response
        do { response = try HTTPClient.shared.execute(request: request, deadline: .now() + .seconds(120)).wait() } catch
        {
            throw AliceDBError(.io, "cloud node \(base): \(error)")
        }
        let body = response.body.map { String(buffer: $0) } ?? ""
        guard response.status.code == 200 else {
            let message =
                body.split(separator: "\"error\": \"", maxSplits: 1).last.map { String($0.prefix { $0 != "\"" }) }
                ?? body
            let code: AliceDBError.Code =
                response.status.code == 404 ? .notFound : response.status.code == 400 ? .invalidArgument : .io
            throw AliceDBError(code, "cloud node answered \(response.status.code): \(message)")
        }
        return (body, response.headers.map { ($0.name, $0.value) })
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            let c = Character(Unicode.Scalar(b))
            if c.isLetter && b < 0x80 || c.isNumber && b < 0x80 || "-._~".contains(c) {
                out.append(c)
            } else {
                let h = String(b, radix: 16, uppercase: true)
                out += "%" + (h.count == 1 ? "0" + h : h)
            }
        }
        return out
    }

    /// The data rows of a CSV answer.
    func rows(_ csv: String) -> [[Substring]] {
        csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
    }

    func number(_ s: Substring) -> Double? { s.isEmpty ? nil : DoubleText.parse(s) }

    func get(_ series: String, at: Int64) throws -> Double? {
        do {
            let r = try call("/v1/get", [("series", series), ("at", String(at))])
            return rows(r.body).first.flatMap { $0.count > 1 ? number($0[1]) : nil }
        } catch let e as AliceDBError where e.code == .notFound && e.message.contains("no sample") {
            return nil
        }
    }

    func scan(_ series: String, from: Int64, to: Int64, _ body: (Int64, Double) -> Void) throws {
        var from = from
        while true {
            let r = try call("/v1/scan", [("series", series), ("from", String(from)), ("to", String(to))])
            for row in rows(r.body) where row.count == 2 {
                guard let t = Int64(row[0]), let v = number(row[1]) else {
                    throw AliceDBError(.corrupt, "cloud node sent a bad row: \(row)")
                }
                body(t, v)
            }
            guard let next = r.headers.first(where: { $0.0.lowercased() == "x-alicedb-next" }).flatMap({ Int64($0.1) })
            else { return }
            from = next
        }
    }

    func aggregate(_ series: String, from: Int64, to: Int64) throws -> AggregateRow {
        let r = try call("/v1/aggregate", [("series", series), ("from", String(from)), ("to", String(to))])
        guard let row = rows(r.body).first, row.count == 5, let count = Int(row[0]) else {
            throw AliceDBError(.corrupt, "cloud node sent a bad aggregate: \(r.body.prefix(200))")
        }
        return AggregateRow(
            count: count, sum: number(row[1]), avg: number(row[2]), min: number(row[3]), max: number(row[4]))
    }

    func downsample(_ series: String, from: Int64?, to: Int64, interval: Int64, fn: Aggregation) throws -> [(
        Int64, Double?
    )] {
        let r = try call(
            "/v1/downsample",
            [
                ("series", series), ("from", from.map(String.init)), ("to", String(to)), ("interval", String(interval)),
                ("fn", fn.rawValue),
            ])
        return rows(r.body).compactMap { row in row.count == 2 ? Int64(row[0]).map { ($0, number(row[1])) } : nil }
    }

    func series() throws -> [SeriesRow] {
        try rows(try call("/v1/series", []).body).compactMap { r -> SeriesRow? in
            guard r.count >= 9, let points = Int(r[r.count - 8]), let segments = Int(r[r.count - 7]),
                let bytes = Int(r[r.count - 6])
            else { return nil }
            let name = r.count == 9 ? String(r[0]) : r[0..<(r.count - 8)].joined(separator: ",").trimmingQuotes
            return SeriesRow(
                name: name, points: points, segments: segments, bytes: bytes, first: Int64(r[r.count - 4]),
                last: Int64(r[r.count - 3]),
                bound: ErrorBound(absolute: Double(r[r.count - 2]) ?? 0, relativePercent: Double(r[r.count - 1]) ?? 0))
        }
    }
}

extension String {
    /// A CSV field without its quotes ("a,""b""" → a,"b").
    var trimmingQuotes: String {
        guard hasPrefix("\""), hasSuffix("\""), count >= 2 else { return self }
        return String(dropFirst().dropLast()).replacing("\"\"", with: "\"")
    }
}
