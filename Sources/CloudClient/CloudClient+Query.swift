public import AliceDB
internal import NIOCore
internal import NIOHTTP1

/// The `/v1` queries, asked for as CSV: the node writes each value as the text that parses back
/// to the identical bits, so an answer here equals the one the gateway's own database gives.
extension CloudClient {
    /// One series as `/v1/series` lists it.
    public struct SeriesInfo: Sendable, Equatable {
        public var name: String
        public var points: Int
        public var segments: Int
        public var bytes: Int
        public var first: Int64?
        public var last: Int64?
        public var bound: ErrorBound
    }

    /// count, sum, avg, min and max of a range (nil where there is no numeric point).
    public struct Aggregates: Sendable, Equatable {
        public var count: Int
        public var sum, avg, min, max: Double?
    }

    /// At most a page of points; `next` is the `from` of the next page when more remain.
    public struct ScanPage: Sendable {
        public var timestamps: [Int64] = []
        public var values: [Double] = []
        public var next: Int64?
    }

    /// One downsampling bucket: its start, and its value (nil: no numeric point in it).
    public struct Bucket: Sendable, Equatable {
        public var start: Int64
        public var value: Double?
    }

    /// The series of a gateway.
    /// - Parameter gateway: whose data; nil: the token's own gateway.
    /// - Throws: `CloudClientError` (404: no data from that gateway).
    public func series(gateway: String? = nil) async throws(CloudClientError) -> [SeriesInfo] {
        let (rows, url) = try await csv("/v1/series", [], gateway: gateway)
        return try rows.map { r throws(CloudClientError) -> SeriesInfo in
            // A name holding commas arrives quoted and split: the last eight fields are numbers.
            guard r.count >= 9, let points = Int(r[r.count - 8]), let segments = Int(r[r.count - 7]),
                let bytes = Int(r[r.count - 6])
            else {
                throw CloudClientError(.badAnswer, "a series row is not one: \(r.joined(separator: ","))", url: url)
            }
            let name = r.count == 9 ? String(r[0]) : CloudClient.unquote(r[0..<(r.count - 8)].joined(separator: ","))
            return SeriesInfo(
                name: name, points: points, segments: segments, bytes: bytes, first: Int64(r[r.count - 4]),
                last: Int64(r[r.count - 3]),
                bound: ErrorBound(absolute: Double(r[r.count - 2]) ?? 0, relativePercent: Double(r[r.count - 1]) ?? 0))
        }
    }

    /// The value stored at exactly `at`, or nil.
    public func get(_ series: String, at: Int64, gateway: String? = nil) async throws(CloudClientError) -> Double? {
        do throws(CloudClientError) {
            let (rows, _) = try await csv("/v1/get", [("series", series), ("at", String(at))], gateway: gateway)
            return rows.first.flatMap { $0.count > 1 ? CloudClient.number($0[1]) : nil }
        } catch  where error.code == .noSample || error.status == 404 && error.message.hasPrefix("no sample") {
            return nil  // the message test: a node from before the codes
        }
    }

    /// One page of the points in `from...to`, in time order.
    /// - Parameter limit: points per page at most (the node caps it at its `max_scan_points`).
    public func scan(
        _ series: String, from: Int64 = .min, to: Int64 = .max, limit: Int? = nil, gateway: String? = nil
    ) async throws(CloudClientError) -> ScanPage {
        let params = [
            ("series", series), ("from", String(from)), ("to", String(to)), ("limit", limit.map(String.init)),
            ("gateway", gateway), ("format", "csv"),
        ]
        let answer = try await call(.GET, "/v1/scan", query: params, maxBytes: 1 << 30)
        var page = ScanPage()
        // The rows parsed from the bytes as they came (a million points a page: no String per row).
        let bad = answer.body.withUnsafeReadableBytes { raw -> String? in
            let b = raw.bindMemory(to: UInt8.self)
            let newline = UInt8(ascii: "\n")
            var i = (b.firstIndex(of: newline) ?? b.count - 1) + 1  // past the header
            page.timestamps.reserveCapacity(b.count / 16)
            page.values.reserveCapacity(b.count / 16)
            while i < b.count {
                var end = i
                var comma = -1
                while end < b.count && b[end] != newline {
                    if b[end] == UInt8(ascii: ",") && comma < 0 { comma = end }
                    end += 1
                }
                guard comma > i,
                    let t = DoubleText.parseInteger(bytes: UnsafeBufferPointer(rebasing: b[i..<comma])),
                    comma + 1 < end,
                    let v = DoubleText.parse(bytes: UnsafeBufferPointer(rebasing: b[(comma + 1)..<end]))
                else { return String(decoding: UnsafeBufferPointer(rebasing: b[i..<end]), as: UTF8.self) }
                page.timestamps.append(t)
                page.values.append(v)
                i = end + 1
            }
            return nil
        }
        if let bad {
            throw CloudClientError(.badAnswer, "a point row is not one: \(bad)", url: baseURL + "/v1/scan")
        }
        page.next = answer.headers.first(name: "X-AliceDB-Next").flatMap { Int64($0) }
        return page
    }

    /// count, sum, avg, min and max over `from...to`.
    public func aggregate(
        _ series: String, from: Int64 = .min, to: Int64 = .max, gateway: String? = nil
    ) async throws(CloudClientError) -> Aggregates {
        let (rows, url) = try await csv(
            "/v1/aggregate", [("series", series), ("from", String(from)), ("to", String(to))], gateway: gateway)
        guard let r = rows.first, r.count == 5, let count = Int(r[0]) else {
            throw CloudClientError(.badAnswer, "the aggregate row is missing or malformed", url: url)
        }
        let n = CloudClient.number
        return Aggregates(count: count, sum: n(r[1]), avg: n(r[2]), min: n(r[3]), max: n(r[4]))
    }

    /// One value per non-empty bucket of `interval`.
    /// - Parameter from: the first bucket's start; nil: the series' first point.
    public func downsample(
        _ series: String, from: Int64? = nil, to: Int64 = .max, interval: Int64, fn: Aggregation,
        gateway: String? = nil
    ) async throws(CloudClientError) -> [Bucket] {
        let params = [
            ("series", series), ("from", from.map(String.init)), ("to", String(to)), ("interval", String(interval)),
            ("fn", fn.rawValue),
        ]
        let (rows, url) = try await csv("/v1/downsample", params, gateway: gateway)
        return try rows.map { row throws(CloudClientError) -> Bucket in
            guard row.count == 2, let start = Int64(row[0]) else {
                throw CloudClientError(.badAnswer, "a bucket row is not one: \(row.joined(separator: ","))", url: url)
            }
            return Bucket(start: start, value: CloudClient.number(row[1]))
        }
    }

    // MARK: CSV

    func csv(
        _ path: String, _ params: [(String, String?)], gateway: String?
    ) async throws(CloudClientError) -> (rows: [[Substring]], url: String) {
        let (rows, _, url) = try await csvAnswer(path, params, gateway: gateway)
        return (rows, url)
    }

    /// The data rows of a CSV answer (the header line dropped), its headers and the request's URL.
    func csvAnswer(
        _ path: String, _ params: [(String, String?)], gateway: String?
    ) async throws(CloudClientError) -> (rows: [[Substring]], headers: HTTPHeaders, url: String) {
        let query = params + [("gateway", gateway), ("format", "csv")]
        let answer = try await call(.GET, path, query: query, maxBytes: 1 << 30)
        let rows = answer.text.split(separator: "\n").dropFirst().map {
            $0.split(separator: ",", omittingEmptySubsequences: false)
        }
        return (rows, answer.headers, baseURL + path)
    }

    static func number(_ s: Substring) -> Double? { s.isEmpty ? nil : DoubleText.parse(s) }

    /// A CSV field without its quotes (`"a,""b"""` → `a,"b"`).
    static func unquote(_ s: String) -> String {
        guard s.hasPrefix("\""), s.hasSuffix("\""), s.count >= 2 else { return s }
        return String(s.dropFirst().dropLast()).replacing("\"\"", with: "\"")
    }
}
