import Foundation
import TestKit
import TestSupport
import Testing

@testable import AliceDB
@testable import AliceFormat

/// The engine's two ends of the uplink: a gateway's outbox with its persisted cursor, and a
/// receiver's verified, deduplicated import.
@Suite struct UplinkTests {
    func outboxOptions(_ f: (inout DatabaseOptions) -> Void = { _ in }) -> DatabaseOptions {
        var o = DatabaseOptions(memoryBudget: 64 << 10, defaultCapacity: 500)
        o.outbox = true
        f(&o)
        return o
    }

    /// Writes `count` points of two real series (one lossy) from `start` on.
    func write(_ db: Database, from start: Int, count: Int) throws {
        let temp = TestData.load("beijing_temp.csv")!
        let air = TestData.load("elf_air_pressure.csv")!
        try db.createSeries("air", options: SeriesOptions(bound: ErrorBound(absolute: 0.01)))
        try db.putBatch(
            "temp", timestamps: Array(temp.ts[start..<(start + count)]),
            values: Array(temp.values[start..<(start + count)]))
        try db.putBatch(
            "air", timestamps: Array(air.ts[start..<(start + count)]),
            values: Array(air.values[start..<(start + count)]))
    }

    /// Ships everything the outbox holds into `receiver`; returns the segments sent.
    @discardableResult
    func ship(_ db: Database, to receiver: Database, maxBytes: Int = 4096) throws -> Int {
        var sent = 0
        while true {
            let b = try db.outbox(maxBytes: maxBytes)
            if b.isEmpty {
                try db.acknowledge(b)
                return sent
            }
            let wire = try SegmentBatch.decode(b.body)
            let report = try receiver.importSegments(wire)
            #expect(report.rejected.isEmpty)
            try db.acknowledge(b)
            sent += b.segments
        }
    }

    func expectSame(_ a: Database, _ b: Database, _ series: String) throws {
        let x = try a.scan(series)
        let y = try b.scan(series)
        #expect(x.map(\.timestamp) == y.map(\.timestamp), "\(series)")
        #expect(x.map(\.value.bitPattern) == y.map(\.value.bitPattern), "\(series)")
        let ax = try a.aggregate(series)
        let ay = try b.aggregate(series)
        #expect(ax.count == ay.count && ax.sum.bitPattern == ay.sum.bitPattern && ax.min == ay.min && ax.max == ay.max)
    }

    @Test func batchRoundTripAndHostileBytes() throws {
        let dir = TempDirectory()
        let db = try Database(path: dir.path + "/gw", options: outboxOptions())
        try write(db, from: 0, count: 3000)
        try db.flush()
        let b = try db.outbox(maxBytes: 1 << 20)
        #expect(!b.isEmpty)
        let bytes = b.body
        let decoded = try SegmentBatch.decode(bytes)
        #expect(decoded.entries.count == b.segments && b.segments > 1)
        #expect(decoded.encode().count == bytes.count - 2)  // encode()'s entry count is not padded
        #expect(FormatFeatures.of(segments: decoded.entries.map(\.segment)) == b.features)
        // Every truncation, and single-byte damage at many places, is an error, never a trap.
        for n in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 300)) {
            #expect(throws: AliceDBError.self) { try SegmentBatch.decode(Array(bytes[0..<n])) }
            var damaged = bytes
            damaged[n] ^= 0x5A
            #expect(throws: AliceDBError.self) { try SegmentBatch.decode(damaged) }
        }
        var rng = SplitMix(seed: 3)
        for _ in 0..<2000 {
            let junk = (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(throws: AliceDBError.self) { try SegmentBatch.decode(Array("ALUB\u{1}".utf8) + junk) }
        }
    }

    @Test func shipsEverythingOnceAcrossReopenAndCompaction() throws {
        let dir = TempDirectory()
        let cloud = try Database(path: dir.path + "/cloud")
        var gw = try Database(path: dir.path + "/gw", options: outboxOptions())
        try write(gw, from: 0, count: 2500)
        // Unflushed points are not in segments yet: nothing to ship but what was flushed.
        let first = try ship(gw, to: cloud)
        #expect(first > 0)
        try gw.close()
        // The cursor survives a restart: nothing is sent twice.
        gw = try Database(path: dir.path + "/gw", options: outboxOptions())
        #expect(try gw.outbox().isEmpty)
        for round in 0..<3 {
            try write(gw, from: 2500 + round * 800, count: 800)
            try gw.flush()
            #expect(try gw.uplinkLag().segments > 0)
            try ship(gw, to: cloud)
            #expect(try gw.uplinkLag().segments == 0)
            try gw.close()  // seals the file: the next round writes another
            gw = try Database(path: dir.path + "/gw", options: outboxOptions())
        }
        // Merging shipped files does not put them back in the outbox.
        #expect(try gw.compact(smallBytes: 1 << 30) >= 2)
        #expect(try gw.outbox().isEmpty)
        for s in ["temp", "air"] { try expectSame(gw, cloud, s) }
        #expect(try cloud.verify().faults.isEmpty)
        // The same batch twice is stored once.
        try write(gw, from: 5000, count: 800)
        try gw.flush()
        let again = try gw.outbox(maxBytes: 1 << 20)
        let r1 = try cloud.importSegments(again.decoded())
        let r2 = try cloud.importSegments(again.decoded())
        #expect(r1.stored == again.segments && r1.duplicates == 0)
        #expect(r2.stored == 0 && r2.duplicates == again.segments)
        try gw.acknowledge(again)
        for s in ["temp", "air"] { try expectSame(gw, cloud, s) }
        // A reader sees the writer's cursor.
        let reader = try Database(path: dir.path + "/gw", options: DatabaseOptions(readOnly: true))
        #expect(try reader.uplinkLag().state?.cursor == again.next)
    }

    @Test func badSegmentIsRefusedAndTheOthersStored() throws {
        let dir = TempDirectory()
        let gw = try Database(path: dir.path + "/gw", options: outboxOptions())
        try write(gw, from: 0, count: 3000)
        try gw.flush()
        var b = try gw.outbox(maxBytes: 1 << 20).decoded()
        #expect(b.entries.count >= 3)
        b.entries[1].segment[b.entries[1].segment.count / 2] ^= 0xFF
        b.entries[2].series = "bad\u{1}name"
        let cloud = try Database(path: dir.path + "/cloud")
        let r = try cloud.importSegments(try SegmentBatch.decode(b.encode()))
        #expect(r.rejected.map(\.index) == [1, 2])
        #expect(r.stored == b.entries.count - 2)
        #expect(try cloud.verify().faults.isEmpty)
    }

    @Test func ageRetentionSparesUnshippedSegmentsAndTheBudgetCountsThem() throws {
        let dir = TempDirectory()
        let gw = try Database(path: dir.path + "/gw", options: outboxOptions())
        try write(gw, from: 0, count: 3000)
        try gw.flush()
        let stored = try gw.stats().points
        // Nothing shipped: age retention deletes nothing.
        #expect(try gw.applyRetention(olderThan: .max).segments == 0)
        #expect(try gw.stats().points == stored)
        // The disk budget still wins, and says it deleted unshipped data.
        let dropped = try gw.applyRetention(maxBytes: 1)
        #expect(dropped.segments > 0)
        #expect(gw.counters.retentionUnshippedSegments == dropped.segments)
        // Shipped segments go by age as usual.
        let cloud = try Database(path: dir.path + "/cloud")
        try write(gw, from: 3000, count: 1000)
        try gw.flush()
        try ship(gw, to: cloud)
        let before = gw.counters.retentionUnshippedSegments
        #expect(try gw.applyRetention(olderThan: .max).segments > 0)
        #expect(gw.counters.retentionUnshippedSegments == before)
    }
}
