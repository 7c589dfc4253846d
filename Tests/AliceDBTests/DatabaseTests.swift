import Foundation
import TestKit
import TestSupport
import Testing

@testable import AliceDB
@testable import AliceFormat

@Suite struct DatabaseTests {
    @Test func putScanReopenLossless() throws {
        let dir = TempDirectory()
        let (ts, values) = TestData.load("hpc_voltage.csv", limit: 10_000)!
        do {
            let db = try Database(path: dir.path, options: DatabaseOptions(defaultCapacity: 1000))
            try db.putBatch("v", timestamps: ts, values: values)
            // Unflushed and flushed points are all visible.
            let got = try db.scan("v")
            #expect(got.map(\.timestamp) == ts)
            #expect(got.map(\.value.bitPattern) == values.map(\.bitPattern))
            #expect(try db.get("v", at: ts[1234]) == values[1234])
            #expect(try db.get("v", at: ts[1234] + 1) == nil)
            try db.close()
        }
        let db = try Database(path: dir.path)
        let got = try db.scan("v")
        #expect(got.map(\.timestamp) == ts)
        #expect(got.map(\.value.bitPattern) == values.map(\.bitPattern))
        let agg = try db.aggregate("v")
        #expect(agg.count == ts.count)
        #expect(agg.min == values.min())
        #expect(agg.max == values.max())
        let report = try db.verify()
        #expect(report.ok, "\(report.faults)")
        // A scan that stops: exactly the points it took, from where it began.
        var taken = [Int64]()
        try db.scanWhile("v", from: ts[2500]) { t, _ in
            taken.append(t)
            return taken.count < 1700
        }
        #expect(taken == Array(ts[2500..<4200]))
        let partial = try db.aggregate("v", from: ts[100], to: ts[4000])
        #expect(partial.count == 3901)
        let exactSum = values[100...4000].reduce(0, +)
        #expect(abs(partial.sum - exactSum) < 1e-6 * abs(exactSum))
        try db.close()
    }

    @Test func recoveryReplaysWALWithoutClose() throws {
        let dir = TempDirectory()
        do {
            let db = try Database(path: dir.path, options: DatabaseOptions(sync: .everyWrite, defaultCapacity: 100))
            for i in 0..<250 { try db.put("s", Int64(i), Double(i) * 0.5) }
            // Simulate a crash: no close. The engine is leaked so deinit never flushes.
            _ = Unmanaged.passRetained(db)
        }
        // The lock of the leaked writer is held by this process, so open a second handle read-only first.
        let ro = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        #expect(try ro.scan("s").count == 250)
        #expect(try ro.aggregate("s").sum == (0..<250).reduce(0.0) { $0 + Double($1) * 0.5 })
    }

    @Test func secondWriterIsRefused() throws {
        let dir = TempDirectory()
        let db = try Database(path: dir.path)
        #expect(throws: AliceDBError.self) { _ = try Database(path: dir.path) }
        try db.close()
        let again = try Database(path: dir.path)
        try again.close()
    }

    @Test func outOfOrderAndDuplicatesAreKept() throws {
        let dir = TempDirectory()
        let db = try Database(path: dir.path, options: DatabaseOptions(defaultCapacity: 16))
        for t in [1, 2, 3, 5, 4, 4, 10] as [Int64] { try db.put("s", t, Double(t)) }
        try db.flush()
        // Late points after a flush go to an overlapping segment.
        try db.put("s", 2, 20)
        try db.put("s", 100, 100)
        let pts = try db.scan("s")
        #expect(pts.map(\.timestamp) == [1, 2, 2, 3, 4, 4, 5, 10, 100])
        #expect(try db.get("s", at: 2) == 20)
        #expect(db.counters.late == 1)
        #expect(db.counters.outOfOrder == 2)
        try db.close()
        let again = try Database(path: dir.path)
        #expect(try again.scan("s").map(\.timestamp) == [1, 2, 2, 3, 4, 4, 5, 10, 100])
        #expect(try again.aggregate("s").count == 9)
        try again.close()
    }

    @Test func boundedSeriesStaysWithinBound() throws {
        let dir = TempDirectory()
        let (ts, values) = TestData.load("elf_basel_wind.csv", limit: 30_000)!
        let bound = 0.8
        let db = try Database(path: dir.path)
        try db.createSeries("w", options: SeriesOptions(bound: ErrorBound(absolute: bound)))
        try db.putBatch("w", timestamps: ts, values: values)
        try db.close()
        let ro = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        let got = try ro.scan("w")
        #expect(got.count == values.count)
        for (p, v) in zip(got, values) where abs(p.value - v) > bound {
            Issue.record("\(p.timestamp): \(p.value) vs \(v)")
            break
        }
        let agg = try ro.aggregate("w")
        #expect(agg.sum == values.reduce(0, +) || abs(agg.sum - values.reduce(0, +)) < 1e-6)
        #expect(agg.max == values.max())
        #expect(try ro.verify().ok)
    }
}

@Suite struct CrashRecoveryTests {
    /// A batch larger than the MemTable is flushed in parts; a crash then must replay exactly the rest.
    @Test func batchSpanningFlushesRecoversExactlyOnce() throws {
        let dir = TempDirectory()
        let n = 10_000
        let ts = (0..<n).map { Int64($0) }
        let vs = ts.map { Double($0) * 0.1 }
        do {
            let db = try Database(path: dir.path, options: DatabaseOptions(sync: .everyWrite, defaultCapacity: 3000))
            try db.putBatch("big", timestamps: ts, values: vs)
            try db.put("other", 5, 5)
            _ = Unmanaged.passRetained(db)  // crash: no close, the lock stays with this process
        }
        let ro = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        let got = try ro.scan("big")
        #expect(got.map(\.timestamp) == ts)
        #expect(got.map(\.value) == vs)
        #expect(try ro.scan("other").count == 1)
    }
}

@Suite struct MemTableTests {
    /// Many series under a small budget: the buffers never hold much more than the budget,
    /// the largest are flushed first, and nothing is lost.
    @Test func budgetPressureFlushesAndKeepsEverything() throws {
        let dir = TempDirectory()
        let budget = 256 << 10
        let db = try Database(path: dir.path, options: DatabaseOptions(memoryBudget: budget, defaultCapacity: 16384))
        var maxBuffered = 0
        var maxBytes = 0
        for round in 0..<60 {
            for s in 0..<50 {
                let ts = (0..<100).map { Int64(round * 100 + $0) }
                try db.putBatch("s\(s)", timestamps: ts, values: ts.map { Double($0 % 7) })
            }
            maxBuffered = max(maxBuffered, try db.stats().bufferedPoints)
            maxBytes = max(maxBytes, db.memTableBytes)
        }
        #expect(db.counters.flushesBudget > 0)
        // The buffers' bytes stay within the budget (plus one growth step), and packed points
        // (~2 bytes each here) hold more of them than 16-byte arrays could.
        #expect(maxBytes <= budget * 2)
        #expect(maxBuffered * 16 > budget)
        try db.close()
        let ro = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        for s in 0..<50 { #expect(try ro.aggregate("s\(s)").count == 6000) }
    }

    @Test func oldBuffersAreFlushedByAge() async throws {
        let dir = TempDirectory()
        let db = try Database(
            path: dir.path, options: DatabaseOptions(sync: .interval(milliseconds: 20), maxBufferAgeSeconds: 0.05))
        try db.put("slow", 1, 1)
        try await waitUntil(timeout: .seconds(2), "the old buffer flushed by age") { try db.stats().segments == 1 }
        #expect(db.counters.flushesAge == 1)
        try db.close()
    }

    @Test func groupCommitMakesPointsVisibleToReadersWithinTheInterval() async throws {
        let dir = TempDirectory()
        let db = try Database(path: dir.path, options: DatabaseOptions(sync: .interval(milliseconds: 20)))
        try db.put("live", 7, 7.5)
        try await waitUntil(timeout: .seconds(2), "the point visible to a reader") {
            try Database(path: dir.path, options: DatabaseOptions(readOnly: true)).get("live", at: 7) == 7.5
        }
        try db.close()
    }
}
