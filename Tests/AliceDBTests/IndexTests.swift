import Foundation
import TestKit
import TestSupport
import Testing

@testable import AliceDB
@testable import AliceFormat

/// The segment index: bounded memory however many segments, footers that survive reopen and
/// damage, and queries that agree with the data across sealed and unsealed files.
@Suite struct IndexTests {
    /// Many small segments over many series, one series written out of order.
    func workload() -> [String: [(Int64, Double)]] {
        var rng = SplitMix(seed: 7)
        var out = [String: [(Int64, Double)]]()
        for s in 0..<50 {
            var points = [(Int64, Double)]()
            for i in 0..<3360 {
                let t = Int64(i) * 1000 + Int64(s)
                let v = (sin(Double(i) / 40 + Double(s)) * 20 + Double(rng.next() % 100) / 100 * 100).rounded() / 100
                points.append((t, v))
            }
            out["s\(s)"] = points
        }
        return out
    }

    func write(_ db: Database, _ data: [String: [(Int64, Double)]]) throws -> Int {
        var maxRefs = 0
        for round in 0..<420 {
            for name in data.keys.sorted() {
                var chunk = Array(data[name]![(round * 8)..<(round * 8 + 8)])
                // s7 gets its rounds in swapped pairs: late points behind flushed segments.
                if name == "s7" {
                    let pair = round ^ 1
                    chunk = Array(data[name]![(pair * 8)..<(pair * 8 + 8)])
                }
                try db.putBatch(name, timestamps: chunk.map(\.0), values: chunk.map(\.1))
            }
            maxRefs = max(maxRefs, db.indexRefsInMemory)
        }
        return maxRefs
    }

    func check(_ db: Database, _ data: [String: [(Int64, Double)]]) throws {
        for name in ["s0", "s7", "s31", "s49"] {
            let expected = data[name]!
            let got = try db.scan(name)
            #expect(got.map(\.timestamp) == expected.map(\.0), "\(name)")
            #expect(got.map(\.value.bitPattern) == expected.map(\.1.bitPattern), "\(name)")
            let (from, to) = (expected[301].0, expected[1277].0)
            let part = expected[301...1277]
            let agg = try db.aggregate(name, from: from, to: to)
            #expect(agg.count == part.count)
            #expect(agg.min == part.map(\.1).min())
            #expect(agg.max == part.map(\.1).max())
            #expect(abs(agg.sum - part.reduce(0) { $0 + $1.1 }) < 1e-6)
            #expect(try db.get(name, at: expected[999].0) == expected[999].1)
            #expect(try db.get(name, at: expected[999].0 + 1) == nil)
            let buckets = try db.downsample(name, from: 0, to: .max / 2, interval: 100_000)
            #expect(buckets.reduce(0) { $0 + $1.result.count } == expected.count)
        }
    }

    @Test func memoryStaysBoundedAndQueriesAgreeAcrossSealedFiles() throws {
        let dir = TempDirectory()
        let data = workload()
        let db = try Database(path: dir.path, options: DatabaseOptions(defaultCapacity: 16))
        let maxRefs = try write(db, data)
        let stats = try db.stats()
        // More segments than one file's worth, yet the refs in memory never passed the cap.
        #expect(stats.segments > SegmentStore.maxActiveRefs)
        #expect(maxRefs <= SegmentStore.maxActiveRefs)
        #expect(MemoryLayout<SegmentRef>.stride <= 48)  // the figure docs/semantics.md gives
        #expect(db.indexRefsInMemory < stats.segments)
        try check(db, data)
        try db.close()

        let ro = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        #expect(ro.indexRefsInMemory == 0)  // every file sealed: footers only
        let again = try ro.stats()
        #expect(again.segments == stats.segments)
        #expect(again.points == 50 * 3360)
        try check(ro, data)
        #expect(try ro.inspect("s3").reduce(0) { $0 + $1.points } == 3360)
        let report = try ro.verify()
        #expect(report.ok, "\(report.faults)")
        #expect(report.segments == stats.segments)
    }

    @Test func damagedFooterFallsBackToScanningAndIsRewritten() throws {
        let dir = TempDirectory()
        let data = workload()
        do {
            let db = try Database(path: dir.path, options: DatabaseOptions(defaultCapacity: 16))
            _ = try write(db, data)
            try db.close()
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/segments").filter {
            $0.hasSuffix(".seg")
        }.sorted()
        let file = dir.path + "/segments/" + files.first!
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[bytes.count - 40] ^= 0x5A  // inside the footer's last index block
        try Data(bytes).write(to: URL(fileURLWithPath: file))

        let ro = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        #expect(ro.indexRefsInMemory > 0)  // that file was scanned instead
        try check(ro, data)
        // A writer replaces the broken footer; afterwards every file is sealed again.
        try Database(path: dir.path).close()
        let fixed = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        #expect(fixed.indexRefsInMemory == 0)
        try check(fixed, data)
        #expect(try fixed.verify().ok)
    }

    @Test func unsealedFileAfterACrashIsScannedAndSealed() throws {
        let dir = TempDirectory()
        let data = workload()
        do {
            let db = try Database(path: dir.path, options: DatabaseOptions(defaultCapacity: 16))
            _ = try write(db, data)
            try db.flush()
            _ = Unmanaged.passRetained(db)  // crash: no close, the last file has no footer
        }
        let ro = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        #expect(ro.indexRefsInMemory > 0)
        try check(ro, data)
    }

    @Test func retentionByBytesDropsTheOldestSegments() throws {
        let dir = TempDirectory()
        let data = workload()
        let db = try Database(path: dir.path, options: DatabaseOptions(defaultCapacity: 16))
        _ = try write(db, data)
        try db.flush()
        let before = try db.stats()
        let target = before.bytes / 2
        let dropped = try db.applyRetention(maxBytes: target)
        #expect(dropped.segments > 0)
        let after = try db.stats()
        #expect(after.points == before.points - dropped.points)
        // What is left is the newest data of each series, and it is all intact.
        for name in ["s0", "s31"] {
            let got = try db.scan(name)
            let expected = data[name]!
            #expect(got.map(\.timestamp) == expected.suffix(got.count).map(\.0))
            #expect(got.count < expected.count)
        }
        #expect(try db.verify().ok)
        try db.close()
    }
}
