import Foundation
import TestKit
import TestSupport
import Testing

@testable import AliceDB
@testable import AliceFormat

/// A series' `timeTolerance` through the engine: timestamps snapped to a fitted clock at flush,
/// every one within the tolerance, queries on the stored timestamps, the option persisted.
@Suite struct TimeToleranceTests {
    /// A gateway's arrival times: a 1 s clock stamped 0–25 ms late, now and then a reading missing.
    static func arrivals(_ n: Int, seed: UInt64, from start: Int64 = 1_700_000_000_000) -> [Int64] {
        var rng = TestRNG(seed: seed)
        var ts = [Int64]()
        var k: Int64 = 0
        while ts.count < n {
            k += rng.next() % 100 == 0 ? 2 : 1
            ts.append(start + k * 1000 + Int64(rng.next() % 26))
        }
        return ts
    }

    @Test func storedWithinTheToleranceAndPersisted() throws {
        let dir = TempDirectory()
        let ts = Self.arrivals(5000, seed: 1)
        let values = ts.indices.map { Double($0 % 53) / 10 }
        do {
            let db = try Database(path: dir.path, options: DatabaseOptions(defaultCapacity: 2000))
            try db.createSeries("gw", options: SeriesOptions(timeTolerance: 25))
            try db.createSeries("exact")
            try db.putBatch("gw", timestamps: ts, values: values)
            try db.putBatch("exact", timestamps: ts, values: values)
            try db.close()
        }
        let db = try Database(path: dir.path)
        #expect(db.series(named: "gw")?.options.timeTolerance == 25)
        #expect(db.series(named: "exact")?.options.timeTolerance == nil)
        let got = try db.scan("gw")
        #expect(got.count == ts.count)
        #expect(got.map(\.value.bitPattern) == values.map(\.bitPattern))
        for (i, p) in got.enumerated() {
            guard abs(p.timestamp - ts[i]) <= 25, i == 0 || p.timestamp > got[i - 1].timestamp else {
                Issue.record("point \(i): \(ts[i]) stored as \(p.timestamp)")
                break
            }
        }
        #expect(got.first?.timestamp == ts.first && got.last?.timestamp == ts.last)  // a flush's ends are exact
        #expect(try db.scan("exact").map(\.timestamp) == ts)
        // Queries see the stored timestamps.
        #expect(try db.get("gw", at: got[1234].timestamp) == values[1234])
        let inner = try db.scan("gw", from: got[100].timestamp, to: got[3999].timestamp)
        #expect(inner.count == 3900 && inner.first?.timestamp == got[100].timestamp)
        #expect(try db.aggregate("gw").count == ts.count)
        // Each segment says its tolerance; stats say the series'; everything verifies.
        let segments = try db.inspect("gw")
        #expect(!segments.isEmpty && segments.allSatisfy { $0.timeTolerance == 25 && $0.maxTimeError <= 25 })
        #expect(segments.allSatisfy { $0.timestampBytes * 10 < $0.points }, "\(segments.map(\.timestampBytes))")
        #expect(try db.inspect("exact").allSatisfy { $0.timeTolerance == 0 && $0.maxTimeError == 0 })
        let stats = try db.stats()
        #expect(stats.series.first { $0.name == "gw" }?.timeTolerance == 25)
        let (gw, exact) = (stats.series.first { $0.name == "gw" }!, stats.series.first { $0.name == "exact" }!)
        #expect(gw.bytes < exact.bytes / 2, "\(gw.bytes) vs \(exact.bytes)")
        let report = try db.verify()
        #expect(report.ok, "\(report.faults)")
    }

    /// Changing the tolerance flushes the buffered points under the old one; a bad one is refused.
    @Test func changingTheToleranceFlushesFirst() throws {
        let dir = TempDirectory()
        let db = try Database(path: dir.path, options: DatabaseOptions(defaultCapacity: 4000))
        try db.createSeries("gw", options: SeriesOptions(timeTolerance: 25))
        let ts = Self.arrivals(2000, seed: 2)
        try db.putBatch("gw", timestamps: Array(ts[..<1000]), values: Array(repeating: 1, count: 1000))
        try db.createSeries("gw", options: SeriesOptions(timeTolerance: 0))
        #expect(db.series(named: "gw")?.options.timeTolerance == nil)
        try db.putBatch("gw", timestamps: Array(ts[1000...]), values: Array(repeating: 2, count: 1000))
        try db.flush()
        let segments = try db.inspect("gw")
        #expect(segments.first?.timeTolerance == 25 && segments.last?.timeTolerance == 0)
        #expect(try db.scan("gw", from: ts[1000]).map(\.timestamp) == Array(ts[1000...]))
        #expect(throws: AliceDBError.self) {
            try db.createSeries("bad", options: SeriesOptions(timeTolerance: -1))
        }
        #expect(throws: AliceDBError.self) {
            try db.createSeries("bad", options: SeriesOptions(timeTolerance: SeriesOptions.maxTimeTolerance + 1))
        }
        try db.close()
    }

    /// Late points and duplicates: equal timestamps stay equal, and nothing is reordered.
    @Test func lateAndDuplicatePoints() throws {
        let dir = TempDirectory()
        let db = try Database(path: dir.path, options: DatabaseOptions(defaultCapacity: 500))
        try db.createSeries("gw", options: SeriesOptions(bound: ErrorBound(absolute: 0.25), timeTolerance: 25))
        var ts = Self.arrivals(3000, seed: 3)
        for i in stride(from: 10, to: ts.count, by: 37) { ts[i] = ts[i - 1] }  // duplicates
        let values = ts.indices.map { Double($0) }
        try db.putBatch("gw", timestamps: Array(ts[1000...]), values: Array(values[1000...]))
        try db.flush()
        try db.putBatch("gw", timestamps: Array(ts[..<1000]), values: Array(values[..<1000]))  // late
        try db.flush()
        let got = try db.scan("gw")
        #expect(got.count == ts.count)
        #expect(zip(got.dropFirst(), got).allSatisfy { $0.timestamp >= $1.timestamp })
        // The stored points, matched by value (each written once), are within both bounds.
        let byValue = Dictionary(uniqueKeysWithValues: got.map { ($0.value.rounded(), $0.timestamp) })
        for i in ts.indices {
            guard let s = byValue[values[i]], abs(s - ts[i]) <= 25 else {
                Issue.record("point \(i) at \(ts[i]) stored at \(byValue[values[i]].map(String.init) ?? "nowhere")")
                break
            }
            if i > 0, ts[i] == ts[i - 1], byValue[values[i - 1]] != s { Issue.record("duplicate \(i) split") }
        }
        #expect(try db.verify().ok)
        try db.close()
    }

    /// A receiver stores a gateway's snapped segments as they came: same points, same tolerance,
    /// and the batch names the mode.
    @Test func aReceiverAcceptsSnappedSegments() throws {
        let dir = TempDirectory()
        var options = DatabaseOptions(defaultCapacity: 1000)
        options.outbox = true
        let gw = try Database(path: dir.path + "/gw", options: options)
        try gw.createSeries("t", options: SeriesOptions(profile: .fast, timeTolerance: 25))
        try gw.putBatch("t", timestamps: Self.arrivals(3000, seed: 4), values: Array(repeating: 20.5, count: 3000))
        try gw.flush()
        let cloud = try Database(path: dir.path + "/cloud")
        let batch = try gw.outbox(maxBytes: 1 << 20)
        #expect(batch.features.contains("timestamps:snapped"), "\(batch.features)")
        let report = try cloud.importSegments(try SegmentBatch.decode(batch.body))
        #expect(report.rejected.isEmpty && report.stored == batch.segments)
        try gw.acknowledge(batch)
        #expect(try cloud.scan("t").map(\.timestamp) == gw.scan("t").map(\.timestamp))
        #expect(try cloud.inspect("t").allSatisfy { $0.timeTolerance == 25 })
        #expect(try cloud.verify().ok)
        try cloud.close()
        try gw.close()
    }
}
