import Foundation
import TestKit
import TestSupport
import Testing

@testable import AliceDB
@testable import AliceFormat

/// The WAL's bound (`walMaxBytes`), the disk budget that pauses instead of dropping, and a disk
/// that is really full (a small tmpfs): nothing accepted is lost, nothing is stored twice.
@Suite struct DiskBudgetTests {
    /// One point for each of `series` series per round, as the agent writes them (one record each).
    /// Yields now and then: on a 2-core machine a long synchronous loop would hold one of the two
    /// threads that the agent tests running beside it wait on.
    func rounds(_ db: Database, _ range: Range<Int>, series: Int, _ each: (() throws -> Void)? = nil) async throws {
        for r in range {
            for s in 0..<series { try db.put("s\(s)", Int64(r), Double(r % 97) / 4 + Double(s)) }
            try each?()
            if r % 50 == 0 { await Task.yield() }
        }
    }

    func expectEveryPoint(_ db: Database, rounds: Int, series: Int) throws {
        for s in 0..<series {
            let got = try db.scan("s\(s)")
            #expect(got.map(\.timestamp) == (0..<rounds).map(Int64.init), "s\(s)")
            #expect(got.map(\.value) == (0..<rounds).map { Double($0 % 97) / 4 + Double(s) }, "s\(s)")
        }
    }

    @Test func walStaysWithinItsBoundAndLosesNothing() async throws {
        let dir = TempDirectory()
        let limit = 256 << 10
        // A memory budget that would let the WAL grow to ~2 MiB for these points.
        var options = DatabaseOptions(sync: .off, memoryBudget: 64 << 20, walMaxBytes: limit)
        options.maintenanceTimer = false
        let db = try Database(path: dir.path, options: options)
        var highest = 0
        try await rounds(db, 0..<600, series: 100) { highest = max(highest, db.diskStatus.walBytes) }
        #expect(db.counters.flushesWAL > 0)
        #expect(highest <= limit + 16 << 10, "WAL peaked at \(highest) bytes")
        #expect(FileIO.directoryBytes(dir.path + "/wal") <= limit)
        // A crash (no close) once the WAL's buffer is written: the WAL and the early segments
        // together hold every point once (read-only: the leaked writer keeps its lock).
        try db.writeWAL()
        _ = Unmanaged.passRetained(db)
        let again = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        try expectEveryPoint(again, rounds: 600, series: 100)
        #expect(try again.verify().ok)
    }

    @Test func withoutABoundTheWALGrowsWithTheBuffers() async throws {
        let dir = TempDirectory()
        var options = DatabaseOptions(sync: .off, memoryBudget: 64 << 20, walMaxBytes: nil)
        options.maintenanceTimer = false
        let db = try Database(path: dir.path, options: options)
        try await rounds(db, 0..<600, series: 100)
        #expect(db.counters.flushesWAL == 0)
        #expect(db.diskStatus.walBytes > 1 << 20)
        try db.close()
    }

    @Test func pauseBudgetDeletesOnlyWhatTheUplinkAcknowledged() async throws {
        let dir = TempDirectory()
        var options = DatabaseOptions(memoryBudget: 64 << 10, defaultCapacity: 500)
        options.outbox = true
        options.maintenanceTimer = false
        options.retention = RetentionPolicy(maxBytes: 48 << 10, onFull: .pause)
        let gw = try Database(path: dir.path + "/gw", options: options)
        let cloud = try Database(path: dir.path + "/cloud")
        // Noisy values: about 8 bytes a point, so 48 KiB is reached after ~6 000 points.
        var t: Int64 = 0
        var rng = SystemRandomNumberGenerator()
        while !gw.diskStatus.budgetFull {
            let ts = (0..<500).map { t + Int64($0) }
            try gw.putBatch("noise", timestamps: ts, values: ts.map { _ in Double.random(in: 0..<1, using: &rng) })
            t += 500
            try gw.maintain()
            #expect(t < 100_000, "the budget never filled")
            if t >= 100_000 { return }
        }
        // Nothing shipped: nothing deleted, and the writer is told to stop.
        #expect(gw.counters.retentionSegments == 0)
        #expect(gw.diskStatus.segmentBytes >= 48 << 10)
        // The uplink ships and is acknowledged: retention frees that room, the budget has room again.
        while true {
            let b = try gw.outbox(maxBytes: 4096)
            if b.isEmpty { break }
            _ = try cloud.importSegments(try SegmentBatch.decode(b.body))
            try gw.acknowledge(b)
        }
        try await waitUntil("the budget to have room again") {
            try gw.maintain()
            return !gw.diskStatus.budgetFull
        }
        #expect(gw.counters.retentionSegments > 0)
        #expect(gw.counters.retentionUnshippedSegments == 0)
        #expect(gw.diskStatus.segmentBytes < 48 << 10)
        // Deleted here only after the cloud had it: the cloud holds every point flushed.
        #expect(try gw.stats().points + gw.counters.retentionPoints == t)
        #expect(try cloud.aggregate("noise").count == t - Int64(try gw.stats().bufferedPoints))
        try gw.close()
        try cloud.close()
    }

    @Test func pauseBudgetWithoutAnOutboxDeletesNothing() throws {
        let dir = TempDirectory()
        var options = DatabaseOptions(memoryBudget: 64 << 10, defaultCapacity: 500)
        options.maintenanceTimer = false
        options.retention = RetentionPolicy(maxBytes: 16 << 10, onFull: .pause)
        let db = try Database(path: dir.path, options: options)
        let ts = (0..<5000).map { Int64($0) }
        try db.putBatch("x", timestamps: ts, values: ts.map { _ in Double.random(in: 0..<1) })
        try db.flush()
        try db.maintain()
        #expect(db.diskStatus.budgetFull)
        #expect(db.counters.retentionSegments == 0)
        #expect(try db.scan("x").count == 5000)
        try db.close()
    }

    // MARK: A full disk

    func smallFilesystem() throws -> SmallFilesystem {
        switch SmallFilesystem.mount(bytes: 4 << 20) {
        case .success(let fs): return fs
        case .failure(let refused): try Test.cancel("skipped: \(refused)")
        }
    }

    func fullDiskOptions(_ sync: SyncPolicy = .interval(milliseconds: 200)) -> DatabaseOptions {
        var options = DatabaseOptions(sync: sync, memoryBudget: 256 << 10, defaultCapacity: 1000)
        options.maintenanceTimer = false  // the test says when to try again
        return options
    }

    @Test func fullDiskKeepsPointsInMemoryAndWritesThemWhenThereIsRoom() async throws {
        let fs = try smallFilesystem()
        let path = fs.path + "/db"
        let db = try Database(path: path, options: fullDiskOptions())
        try await rounds(db, 0..<1000, series: 5)
        try db.flush()
        fs.fill()
        // Accepted all the same: into MemTables and the WAL's buffer, past full buffers and the
        // flushes they would start; a series new meanwhile too.
        try await rounds(db, 1000..<3000, series: 5)
        try db.put("new", 1, 1.5)
        try db.writeWAL()
        let full = db.diskStatus
        #expect(full.diskFull?.code == .diskFull)
        #expect(full.heldBytes > 0)
        try expectEveryPoint(db, rounds: 3000, series: 5)
        // A flush cannot happen, and says why.
        #expect { try db.flush() } throws: { ($0 as? AliceDBError)?.code == .diskFull }
        fs.free()
        try await waitUntil("the engine to find room again") {
            try db.maintain()
            return db.diskStatus.diskFull == nil
        }
        try db.close()
        let again = try Database(path: path, options: fullDiskOptions())
        try expectEveryPoint(again, rounds: 3000, series: 5)
        #expect(try again.scan("new").map(\.value) == [1.5])
        #expect(try again.verify().ok)
        try again.close()
    }

    @Test func crashOnAFullDiskLeavesNoTornRecordOrFrame() async throws {
        let fs = try smallFilesystem()
        let path = fs.path + "/db"
        do {
            let db = try Database(path: path, options: fullDiskOptions())
            try await rounds(db, 0..<1000, series: 5)
            try db.writeWAL()
            fs.fill()
            // Writes cut short by the full disk, then a crash while it is still full: what
            // waited in memory is gone, what was written before stays whole.
            try await rounds(db, 1000..<2500, series: 5) { try db.writeWAL() }
            #expect(db.diskStatus.diskFull != nil)
            _ = Unmanaged.passRetained(db)
        }
        fs.free()
        for name in try FileManager.default.contentsOfDirectory(atPath: path + "/wal") {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path + "/wal/" + name)))
            #expect(Self.wholeRecords(bytes), "\(name) ends in part of a record")
        }
        // Read-only (the crashed writer keeps its lock): a torn segment tail would be a fault.
        let again = try Database(path: path, options: DatabaseOptions(readOnly: true))
        #expect(try again.verify().ok)
        for s in 0..<5 {
            let got = try again.scan("s\(s)")
            #expect(got.count >= 1000 && got.count <= 2500)
            // A prefix of what was put, each point once.
            #expect(got.map(\.timestamp) == (0..<got.count).map(Int64.init))
        }
    }

    /// Whether `bytes` are WAL records (length, CRC32C, body) that end exactly at its end.
    static func wholeRecords(_ bytes: [UInt8]) -> Bool {
        var at = 0
        func u32(_ i: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[i + $1]) << (8 * $1) } }
        while at < bytes.count {
            guard at + 8 <= bytes.count else { return false }
            let length = u32(at)
            guard at + 8 + length <= bytes.count else { return false }
            let crc = bytes[(at + 8)..<(at + 8 + length)].withUnsafeBytes { CRC32C.checksum($0) }
            guard crc == UInt32(u32(at + 4)) else { return false }
            at += 8 + length
        }
        return true
    }

    @Test func everyWritePutIsRefusedWholeOnAFullDisk() throws {
        let fs = try smallFilesystem()
        let path = fs.path + "/db"
        let db = try Database(path: path, options: fullDiskOptions(.everyWrite))
        try db.put("w", 0, 0)
        fs.fill()
        var refused = 0
        for i in 1..<200 {
            do { try db.put("w", Int64(i), Double(i)) } catch let e as AliceDBError {
                #expect(e.code == .diskFull)
                refused += 1
            }
        }
        #expect(refused > 0)
        let kept = try db.scan("w").count
        #expect(kept == 200 - refused)
        fs.free()
        try db.put("w", 1000, 1000)
        try db.close()
        let again = try Database(path: path, options: fullDiskOptions())
        #expect(try again.scan("w").count == kept + 1)
        try again.close()
    }

    @Test func whatWaitsForTheDiskIsBoundedByTwiceTheMemoryBudget() throws {
        let fs = try smallFilesystem()
        let db = try Database(path: fs.path + "/db", options: fullDiskOptions())
        try db.put("m", 0, 0)
        try db.flush()
        fs.fill()
        var stored = 1
        var refusal: AliceDBError?
        while refusal == nil && stored < 1_000_000 {
            let ts = (0..<1000).map { Int64(stored + $0) }
            do {
                try db.putBatch("m", timestamps: ts, values: ts.map(Double.init))
                stored += 1000
            } catch let e as AliceDBError {
                refusal = e
            }
        }
        #expect(refusal?.code == .diskFull)
        #expect(db.diskStatus.heldBytes <= 2 * (256 << 10))
        #expect(try db.scan("m").count == stored)
        fs.free()
    }
}
