import Foundation
import Synchronization
import TestKit
import TestSupport
import Testing

@testable import AliceDB
@testable import AliceFormat

/// Old fast-profile segments re-encoded into the compact profile by the writer: every point kept
/// bit for bit, the files swapped like compaction's, and the outbox's exactly-once accounting kept.
///
/// And the same job's other half: runs of a series' short segments merged into one (`SegmentMerge`).
@Suite struct RecompressAfterTests {
    func options(outbox: Bool = false, _ f: (inout DatabaseOptions) -> Void = { _ in }) -> DatabaseOptions {
        var o = DatabaseOptions(memoryBudget: 64 << 10, defaultCapacity: 500)
        o.outbox = outbox
        f(&o)
        return o
    }

    /// Writes `count` points of two real fast-profile series (one lossy) from `start` on.
    func write(_ db: Database, from start: Int, count: Int, profile: CodingProfile = .fast) throws {
        let temp = TestData.load("beijing_temp.csv")!
        let air = TestData.load("elf_air_pressure.csv")!
        try db.createSeries("temp", options: SeriesOptions(profile: profile))
        try db.createSeries("air", options: SeriesOptions(bound: ErrorBound(absolute: 0.01), profile: profile))
        try db.putBatch(
            "temp", timestamps: Array(temp.ts[start..<(start + count)]),
            values: Array(temp.values[start..<(start + count)]))
        try db.putBatch(
            "air", timestamps: Array(air.ts[start..<(start + count)]),
            values: Array(air.values[start..<(start + count)]))
    }

    /// Versions of every segment in the directory's files, by the bytes on disk.
    func versions(_ db: Database) throws -> [UInt8: Int] {
        var out = [UInt8: Int]()
        try db.engine.withLock { e throws(AliceDBError) in
            for n in e.store.fileIDs {
                for s in e.store.totals.keys {
                    for r in try e.store.refs(of: s, in: n) { out[try e.store.rawBytes(r)[4], default: 0] += 1 }
                }
            }
        }
        return out
    }

    func points(_ db: Database) throws -> [String: [DataPoint]] {
        try Dictionary(uniqueKeysWithValues: ["temp", "air"].map { ($0, try db.scan($0)) })
    }

    func expectSame(_ a: [String: [DataPoint]], _ b: [String: [DataPoint]]) {
        for (s, x) in a {
            let y = b[s] ?? []
            #expect(x.map(\.timestamp) == y.map(\.timestamp), "\(s)")
            #expect(x.map(\.value.bitPattern) == y.map(\.value.bitPattern), "\(s)")
        }
    }

    @Test func oldFastFilesComeBackCompactWithEveryPoint() throws {
        let dir = TempDirectory()
        var db = try Database(path: dir.path + "/db", options: options())
        try write(db, from: 0, count: 4000)
        try db.close()  // seals the file
        db = try Database(path: dir.path + "/db", options: options())
        let before = try points(db)
        let aggregate = try db.aggregate("air")
        #expect(try versions(db)[SegmentFormat.version] == nil && versions(db)[SegmentFormat.fastVersion]! > 0)
        // Newer than the cutoff: left alone.
        #expect(try db.recompress(olderThan: 0).segments == 0)
        let r = try db.recompress(olderThan: .max)
        #expect(r.segments > 0 && r.bytesAfter < r.bytesBefore)
        #expect(try versions(db)[SegmentFormat.fastVersion] == nil)
        #expect(db.counters.recompressedSegments == r.segments)
        expectSame(before, try points(db))
        let after = try db.aggregate("air")
        #expect(after.sum.bitPattern == aggregate.sum.bitPattern && after.count == aggregate.count)
        #expect(try db.verify().faults.isEmpty)
        // Nothing left to do, and nothing left behind; the new file is what a reopen finds.
        #expect(try db.recompress(olderThan: .max).segments == 0)
        try db.close()
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/db/segments")
        #expect(!names.contains { $0.hasSuffix(RecompressionJob.suffix) }, "\(names)")
        db = try Database(path: dir.path + "/db", options: options())
        expectSame(before, try points(db))
        #expect(try versions(db)[SegmentFormat.fastVersion] == nil)
        try db.close()
    }

    /// Maintenance does it by itself, in steps, once `recompressAfterMilliseconds` has passed.
    @Test func maintenanceRecompressesOnItsOwn() throws {
        let dir = TempDirectory()
        let o = options {
            $0.maintenanceTimer = false
            $0.recompressAfterMilliseconds = 1000  // the data sets' timestamps are years old
        }
        var db = try Database(path: dir.path + "/db", options: o)
        try write(db, from: 0, count: 3000)
        try db.close()
        db = try Database(path: dir.path + "/db", options: o)
        let before = try points(db)
        // A step every second at most, each a twentieth of it: a few seconds for this file.
        for _ in 0..<300 where db.counters.recompressedSegments == 0 {
            try db.maintain()
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(db.counters.recompressedSegments > 0)
        expectSame(before, try points(db))
        #expect(try versions(db)[SegmentFormat.fastVersion] == nil)
        try db.close()
    }

    /// In an outbox only acknowledged files are re-encoded: the uplink ships the fast form it wrote,
    /// once, and the re-encoded file counts as shipped.
    @Test func theOutboxShipsEachSegmentOnce() throws {
        let dir = TempDirectory()
        let cloud = try Database(path: dir.path + "/cloud")
        var gw = try Database(path: dir.path + "/gw", options: options(outbox: true))
        try write(gw, from: 0, count: 3000)
        try gw.close()
        gw = try Database(path: dir.path + "/gw", options: options(outbox: true))
        #expect(try gw.recompress(olderThan: .max).segments == 0)  // not acknowledged yet
        var shipped = 0
        while true {
            let b = try gw.outbox(maxBytes: 1 << 20)
            if b.isEmpty { break }
            shipped += b.segments
            let report = try cloud.importSegments(try SegmentBatch.decode(b.body))
            #expect(report.rejected.isEmpty)
            try gw.acknowledge(b)
        }
        #expect(shipped > 0)
        #expect(try gw.recompress(olderThan: .max).segments > 0)
        #expect(try gw.outbox().isEmpty)
        #expect(try gw.uplinkLag().segments == 0)
        expectSame(try points(cloud), try points(gw))
        // Reopened, the cursor still covers the new file.
        try gw.close()
        gw = try Database(path: dir.path + "/gw", options: options(outbox: true))
        #expect(try gw.outbox().isEmpty)
        try gw.close()
    }

    /// Segments in the directory's files, and their bytes.
    func segments(_ db: Database) throws -> (count: Int, bytes: Int) {
        try db.engine.withLock { e throws(AliceDBError) in
            var out = (0, 0)
            for n in e.store.fileIDs {
                for s in e.store.totals.keys {
                    for r in try e.store.refs(of: s, in: n) { out = (out.0 + 1, out.1 + r.length) }
                }
            }
            return out
        }
    }

    /// A gateway's short segments (500 points), merged: every point and aggregate as before, the
    /// file smaller, `verify` clean, and the merged file what a reopen finds.
    @Test func shortSegmentsMergeWithEveryPoint() throws {
        for profile in CodingProfile.allCases {
            let dir = TempDirectory()
            let o = options { $0.mergeSegments = false }
            var db = try Database(path: dir.path + "/db", options: o)
            try write(db, from: 0, count: 5000, profile: profile)
            try db.close()  // seals the file
            db = try Database(path: dir.path + "/db", options: o)
            let before = try points(db)
            let aggregate = try db.aggregate("air")
            let was = try segments(db)
            let r = try db.mergeShortSegments()
            let now = try segments(db)
            #expect(r.segments > 0 && r.bytesAfter < r.bytesBefore, "\(profile)")
            #expect(now.count == was.count - r.segments && now.bytes < was.bytes, "\(profile): \(was) -> \(now)")
            #expect(db.counters.mergedSegments == r.segments)
            expectSame(before, try points(db))
            let after = try db.aggregate("air")
            #expect(after.count == aggregate.count && after.min == aggregate.min && after.max == aggregate.max)
            #expect(abs(after.sum - aggregate.sum) <= 1e-9 * abs(aggregate.sum))
            #expect(try db.verify().faults.isEmpty)
            #expect(try db.mergeShortSegments().segments == 0)  // nothing left to merge
            try db.close()
            db = try Database(path: dir.path + "/db", options: o)
            expectSame(before, try points(db))
            #expect(try segments(db) == now)
            try db.close()
        }
    }

    /// Maintenance merges by itself with `mergeSegments` on (the agent's default), a step at a time; not with it off.
    @Test func maintenanceMergesOnItsOwn() throws {
        for merge in [true, false] {
            let dir = TempDirectory()
            let o = options {
                $0.maintenanceTimer = false
                $0.mergeSegments = merge
            }
            var db = try Database(path: dir.path + "/db", options: o)
            try write(db, from: 0, count: 3000, profile: .compact)
            try db.close()
            db = try Database(path: dir.path + "/db", options: o)
            let before = try points(db)
            for _ in 0..<(merge ? 300 : 25) where db.counters.mergedSegments == 0 {
                try db.maintain()
                Thread.sleep(forTimeInterval: 0.1)
            }
            #expect((db.counters.mergedSegments > 0) == merge)
            expectSame(before, try points(db))
            try db.close()
        }
    }

    /// In an outbox only acknowledged files are merged: each segment ships once, in the form it
    /// was written, and the merged file counts as shipped.
    @Test func theOutboxShipsShortSegmentsOnce() throws {
        let dir = TempDirectory()
        let cloud = try Database(path: dir.path + "/cloud")
        let o = options(outbox: true) { $0.mergeSegments = false }
        var gw = try Database(path: dir.path + "/gw", options: o)
        try write(gw, from: 0, count: 3000, profile: .compact)
        try gw.close()
        gw = try Database(path: dir.path + "/gw", options: o)
        #expect(try gw.mergeShortSegments().segments == 0)  // not acknowledged yet
        while true {
            let b = try gw.outbox(maxBytes: 1 << 20)
            if b.isEmpty { break }
            #expect(try cloud.importSegments(try SegmentBatch.decode(b.body)).rejected.isEmpty)
            try gw.acknowledge(b)
        }
        #expect(try gw.mergeShortSegments().segments > 0)
        #expect(try gw.outbox().isEmpty)
        #expect(try gw.uplinkLag().segments == 0)
        expectSame(try points(cloud), try points(gw))
        try gw.close()
        gw = try Database(path: dir.path + "/gw", options: o)
        #expect(try gw.outbox().isEmpty)
        try gw.close()
    }
}
