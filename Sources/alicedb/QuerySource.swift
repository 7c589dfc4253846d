import AliceDB
import CloudClient
import Dispatch
import Synchronization

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

/// A cloud node's query API (`/v1/...` through `CloudClient`), as one gateway's data.
struct CloudSource: QuerySource {
    let client: CloudClient
    let gateway: String?

    init(base: String, token: String, gateway: String?) throws {
        client = try CloudClient(url: base, token: token)
        self.gateway = gateway
    }

    func get(_ series: String, at: Int64) throws -> Double? {
        try blocking { [client, gateway] in try await client.get(series, at: at, gateway: gateway) }
    }

    func scan(_ series: String, from: Int64, to: Int64, _ body: (Int64, Double) -> Void) throws {
        var from = from
        while true {
            let page = try blocking { [client, gateway, from] in
                try await client.scan(series, from: from, to: to, gateway: gateway)
            }
            for (t, v) in zip(page.timestamps, page.values) { body(t, v) }
            guard let next = page.next else { return }
            from = next
        }
    }

    func aggregate(_ series: String, from: Int64, to: Int64) throws -> AggregateRow {
        let r = try blocking { [client, gateway] in
            try await client.aggregate(series, from: from, to: to, gateway: gateway)
        }
        return AggregateRow(count: r.count, sum: r.sum, avg: r.avg, min: r.min, max: r.max)
    }

    func downsample(_ series: String, from: Int64?, to: Int64, interval: Int64, fn: Aggregation) throws -> [(
        Int64, Double?
    )] {
        try blocking { [client, gateway] in
            try await client.downsample(series, from: from, to: to, interval: interval, fn: fn, gateway: gateway)
        }.map { ($0.start, $0.value) }
    }

    func series() throws -> [SeriesRow] {
        try blocking { [client, gateway] in try await client.series(gateway: gateway) }.map {
            SeriesRow(
                name: $0.name, points: $0.points, segments: $0.segments, bytes: $0.bytes, first: $0.first,
                last: $0.last, bound: $0.bound)
        }
    }
}

/// Runs async work from the synchronous commands: this thread (never one of the concurrency
/// pool's) waits while the work runs on the pool.
func blocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let outcome = Outcome<T>()
    Task {
        let r: Result<T, any Error>
        do { r = .success(try await work()) } catch { r = .failure(error) }
        outcome.result.withLock { $0 = r }
        outcome.done.signal()
    }
    outcome.done.wait()
    return try outcome.result.withLock { $0! }.get()
}

/// What `blocking`'s task hands back to the waiting thread.
private final class Outcome<T: Sendable>: Sendable {
    let result = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
}
