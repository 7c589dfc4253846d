import AgentHarness
import AliceDB
import Foundation
import Logging
import TestKit
import Testing

@testable import Cloud
@testable import ReadAPI

/// The PromQL evaluator's own rules; its answers against a real Prometheus are `PromConformanceTests`.
@Suite struct PromQLTests {
    @Test func valuesAreFormattedAsGoFormatsThem() {
        let cases: [(Double, String)] = [
            (1, "1"), (100, "100"), (0.5, "0.5"), (-0.0, "-0"), (1e21, "1000000000000000000000"), (1e-7, "0.0000001"),
            (0.1 + 0.2, "0.30000000000000004"), (-1.25e-5, "-0.0000125"), (123456.789, "123456.789"), (.nan, "NaN"),
            (.infinity, "+Inf"), (-.infinity, "-Inf"), (1.5e300, "15" + String(repeating: "0", count: 299)),
        ]
        for (v, text) in cases { #expect(PromQL.float(v) == text, "\(v)") }
        #expect(PromQL.seconds(1_700_000_000_500) == "1700000000.500" && PromQL.seconds(-1500) == "-1.500")
    }

    @Test func scalarsFollowPrometheusPrecedence() async throws {
        let (_, dir, source) = try await Self.store()
        defer { withExtendedLifetime(dir) {} }
        let e = PromEvaluator(source: source, start: 0, end: 0, step: 1)
        let cases: [(String, Double)] = [
            ("1 + 2 * 3", 7), ("2 ^ 3 ^ 2", 512), ("-2 ^ 2", -4), ("10 % 3", 1), ("(1 + 2) * 3", 9), ("2 > bool 1", 1),
            ("1 - 2 - 3", -4), ("0x10 + 1e1", 26), ("time()", 0), ("scalar(vector(4))", 4), ("8 / 2 / 2", 2),
        ]
        for (q, want) in cases {
            guard case .scalar(let v) = try await e.eval(try PromParser.parse(q)) else {
                Issue.record("\(q) is not a scalar")
                continue
            }
            #expect(v == [want], "\(q)")
        }
    }

    @Test func malformedQueriesAreBadData() {
        let bad = [
            "", "sum(", "rate(alicedb)", "{}", "{series=\"\"}", "alicedb[5m:1m]", "alicedb[5x]", "1 > 2",
            "foo(alicedb)",
            "alicedb offset", "sum by (gateway alicedb", "alicedb{series=~\"(\"}", "rate(alicedb[5m]) offset 1m",
            "topk(alicedb)", "alicedb and 1", "\"unterminated", "alicedb @ start() @ end()",
            // Past ±9e15 s the milliseconds left Int64: a trap (found by fuzz-query: `58@71e38`).
            "58@71e38", "alicedb @ -1e300",
        ]
        for q in bad {
            #expect(throws: QueryError.self, "\(q)") { _ = try PromParser.parse(q) }
            do { _ = try PromParser.parse(q) } catch { #expect(error.description.hasPrefix("400 "), "\(q)") }
        }
    }

    /// A query nested or chained past the parser's bounds is refused before anything recurses on it
    /// (a POST body of 1 MiB held 500 000 levels: the parser ran the thread out of stack); at the
    /// bounds it parses, type-checks and evaluates.
    @Test func deepQueriesAreBadDataNotAStackOverflow() async throws {
        let deep = [
            String(repeating: "(", count: 200_000) + "1" + String(repeating: ")", count: 200_000),
            String(repeating: "-", count: 500_000) + "1", String(repeating: "abs(", count: 100_000) + "vector(1)",
            String(repeating: "1 + ", count: 250_000) + "1", String(repeating: "2 ^ ", count: 250_000) + "1",
        ]
        for q in deep {
            #expect(throws: QueryError.self) { _ = try PromParser.parse(q) }
        }
        let (_, dir, source) = try await Self.store()
        defer { withExtendedLifetime(dir) {} }
        let e = PromEvaluator(source: source, start: 0, end: 0, step: 1)
        let n = PromParser.maxNesting - 1
        let atBounds = [
            String(repeating: "(", count: n) + "1" + String(repeating: ")", count: n),
            String(repeating: "1 + ", count: PromParser.maxOperators) + "1",
            String(repeating: "1 ^ ", count: n - 1) + "1", String(repeating: "-", count: n - 1) + "1",
        ]
        for q in atBounds {
            guard case .scalar(let v) = try await e.eval(try PromParser.parse(q)) else {
                Issue.record("\(q.prefix(20)) is not a scalar")
                continue
            }
            #expect(v.count == 1)
        }
    }

    /// A calendar function of a time no Int64 of seconds holds is NaN, not a trap.
    @Test func calendarFunctionsOfHugeTimesAreNaN() async throws {
        let (_, dir, source) = try await Self.store()
        defer { withExtendedLifetime(dir) {} }
        let e = PromEvaluator(source: source, start: 0, end: 0, step: 1)
        for q in ["scalar(month(vector(1e300)))", "scalar(year(vector(-9.3e18)))", "scalar(hour(vector(1e16)))"] {
            guard case .scalar(let v) = try await e.eval(try PromParser.parse(q)) else {
                Issue.record("\(q) is not a scalar")
                continue
            }
            #expect(v.count == 1 && v[0].isNaN, "\(q)")
        }
    }

    /// Windows that hold whole segments are answered from the segments' summaries, and the
    /// answers equal those computed from the points.
    @Test func summariesAnswerWhatThePointsWould() async throws {
        let (store, dir, series) = try await Self.store()
        defer { withExtendedLifetime(dir) {} }
        let volts = TestSlices.load("hpc_voltage.csv")
        let labels: PromLabels = ["__name__": "alicedb", "gateway": "gw-1", "series": "plant/volts"]
        let day: Int64 = 86_400_000
        let start = (volts.ts[0] / day + 1) * day
        let end = start + 2 * day
        let pieces = try await store.pieces("gw-1", "plant/volts", from: start - day, to: end) { _, _ in true }
        #expect(pieces.contains { if case .summary = $0 { true } else { false } })
        for range in [day, day / 2, 3_600_000] {
            var e = PromEvaluator(source: series, start: start, end: end, step: 3_600_000)
            for name in ["sum_over_time", "count_over_time", "avg_over_time", "min_over_time", "max_over_time"] {
                let values = try await e.summaryWindows(name, labels, e.steps, range)
                for (k, t) in e.steps.enumerated() {
                    let inside = zip(volts.ts, volts.values).filter { $0.0 >= t - range && $0.0 <= t }.map(\.1)
                    var want: Double? = nil
                    if !inside.isEmpty {
                        switch name {
                        case "sum_over_time": want = inside.reduce(0, +)
                        case "count_over_time": want = Double(inside.count)
                        case "avg_over_time": want = inside.reduce(0, +) / Double(inside.count)
                        case "min_over_time": want = inside.min()
                        default: want = inside.max()
                        }
                    }
                    let got = values[k]
                    #expect((got == nil) == (want == nil), "\(name) at \(t)")
                    if let got, let want {
                        #expect(abs(got - want) <= 1e-9 * max(1, abs(want)), "\(name)[\(range)] at \(t)")
                    }
                }
            }
            e.leftOpen = true
            let open = try await e.summaryWindows("count_over_time", labels, e.steps, range)
            let closed = try await PromEvaluator(source: series, start: start, end: end, step: 3_600_000)
                .summaryWindows("count_over_time", labels, e.steps, range)
            // The sample on a window's left edge is counted only when the window is closed there.
            #expect(zip(open, closed).allSatisfy { o, c in (o ?? 0) <= (c ?? 0) && (o ?? 0) >= (c ?? 0) - 1 })
            #expect(zip(open, closed).contains { o, c in o != c })
        }
    }

    /// An embedded store holding a day and more of real one-minute readings (lossless, segments of
    /// ~200 points), in a temp directory.
    static func store() async throws -> (store: EmbeddedStorage, dir: TempDirectory, source: StoragePromSource) {
        let dir = TempDirectory()
        let store = try EmbeddedStorage(path: dir.path + "/cloud", logger: Logger(label: "test"))
        var o = DatabaseOptions(memoryBudget: 64 << 10, defaultCapacity: 200)
        o.outbox = true
        let db = try Database(path: dir.path + "/gw", options: o)
        let volts = TestSlices.load("hpc_voltage.csv")
        try db.putBatch("plant/volts", timestamps: volts.ts, values: volts.values)
        try db.flush()
        while true {
            let b = try db.outbox(maxBytes: 1 << 20)
            if b.isEmpty { break }
            _ = try await store.ingest(b.decoded(), from: "gw-1")
            try db.acknowledge(b)
        }
        try db.close()
        let visible: [PromLabels] = [["__name__": "alicedb", "gateway": "gw-1", "series": "plant/volts"]]
        return (store, dir, StoragePromSource(store: store, visible: visible))
    }
}
