import Foundation
import Logging
import TestKit
import TestSupport
import Testing

@testable import AliceDB
@testable import AliceFormat

/// Corrupt, truncated and hostile files: clear errors, intact data stays readable, never a trap.
@Suite struct StorageFaultTests {
    func fill(_ dir: TempDirectory, series: [String] = ["a", "b"], points: Int = 5000, capacity: Int = 1000) throws {
        let db = try Database(path: dir.path, options: DatabaseOptions(defaultCapacity: capacity))
        for (k, s) in series.enumerated() {
            let ts = (0..<points).map { Int64($0) * 1000 }
            let vs = (0..<points).map { Double($0 % 97) / 10 + Double(k) }
            try db.putBatch(s, timestamps: ts, values: vs)
        }
        try db.close()
    }

    func segmentFiles(_ dir: TempDirectory) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path + "/segments").filter { $0.hasSuffix(".seg") }
            .sorted()
            .map { dir.path + "/segments/" + $0 }
    }

    @Test func tornSegmentTailIsTruncatedOnWritableOpen() throws {
        let dir = TempDirectory()
        try fill(dir)
        let file = try segmentFiles(dir).last!
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        try h.seekToEnd()
        try h.write(contentsOf: Data([0x41, 0x4C, 0x46, 0x52, 0xFF, 0x00, 0x00]))  // a torn frame
        try h.close()
        // Read-only: the fault is reported, the data intact.
        let ro = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        #expect(try ro.scan("a").count == 5000)
        let report = try ro.verify()
        #expect(!report.ok)
        #expect(report.faults.first?.contains("torn tail") == true)
        // A writer truncates it (with a warning) and all is well.
        let db = try Database(path: dir.path)
        #expect(try db.scan("b").count == 5000)
        try db.close()
        #expect(try Database(path: dir.path, options: DatabaseOptions(readOnly: true)).verify().ok)
    }

    @Test func corruptFrameIsSkippedAndNamed() throws {
        let dir = TempDirectory()
        try fill(dir)
        let file = try segmentFiles(dir).first!
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let ro = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        let report = try ro.verify()
        #expect(!report.ok)
        #expect(report.faults.contains { $0.contains(file) && $0.contains("corrupt frame") })
        // Everything outside the broken frame is still there.
        let total = try ro.scan("a").count + ro.scan("b").count
        #expect(total >= 10_000 - 1000 && total < 10_000)
    }

    @Test func tornWALTailKeepsEarlierPoints() throws {
        let dir = TempDirectory()
        do {
            let db = try Database(path: dir.path, options: DatabaseOptions(sync: .everyWrite, defaultCapacity: 10_000))
            for i in 0..<100 { try db.put("w", Int64(i), Double(i)) }
            _ = Unmanaged.passRetained(db)  // crash: no close
        }
        let wal = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/wal").sorted().last!
        let path = dir.path + "/wal/" + wal
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.truncate(atOffset: UInt64(size - 5))  // tear the last record
        try h.close()
        let ro = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        let got = try ro.scan("w")
        #expect(got.count == 99)
        #expect(got.map(\.value) == (0..<99).map(Double.init))
    }

    /// Points in the WAL of a series the catalog lost come back under `series-ID`, with their id
    /// (they were filed under a new id the WAL's points did not have: the name showed nothing).
    @Test func walOfASeriesMissingFromTheCatalogIsRecoveredUnderItsID() throws {
        let dir = TempDirectory()
        let lost = TempDirectory()
        do {
            let db = try Database(path: dir.path, options: DatabaseOptions(sync: .everyWrite, defaultCapacity: 10_000))
            try db.putBatch("a", timestamps: [1, 2], values: [1, 2])
            try db.putBatch("b", timestamps: [1, 2, 3], values: [7, 8, 9])
            _ = Unmanaged.passRetained(db)  // crash: no close
            let other = try Database(path: lost.path)
            _ = try other.createSeries("a")
            try other.close()
        }
        // The catalog as it was before "b" was created. (This process still holds the crashed
        // writer's lock: a reader recovers the same way, in memory.)
        try FileManager.default.removeItem(atPath: dir.path + "/catalog.json")
        try FileManager.default.copyItem(atPath: lost.path + "/catalog.json", toPath: dir.path + "/catalog.json")
        let db = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        #expect(db.listSeries().map(\.name) == ["a", "series-2"])
        #expect(db.series(named: "series-2")?.id == 2)
        #expect(try db.scan("series-2").map(\.value) == [7, 8, 9])
        #expect(try db.scan("a").map(\.value) == [1, 2])
        try db.close()
    }

    /// A segment frame whose LSN is 2^64 - 1 (its checksum made right) trapped every open at
    /// `maxLSN + 1` (found by fuzz-segment-file): a reader opens it, a writer refuses it as corrupt.
    @Test func frameLSNAtTheTopIsCorruptNotATrap() throws {
        let dir = TempDirectory()
        try fill(dir, series: ["a"], points: 100, capacity: 1000)
        let path = try #require(try segmentFiles(dir).first)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        // Header: 16 bytes, varint count of replaced files (none), crc; then "ALFR", length, crc, body.
        #expect(bytes[16] == 0)
        let frame = 21
        #expect(Array(bytes[frame..<frame + 4]) == Array("ALFR".utf8))
        let length = Int(bytes[frame + 4]) | Int(bytes[frame + 5]) << 8 | Int(bytes[frame + 6]) << 16
        let body = frame + 12
        #expect(bytes[body] == 1)  // series 1, one varint byte; the u64 LSN follows
        for k in 1...8 { bytes[body + k] = 0xFF }
        let crc = CRC32C.checksum(bytes, from: body, to: body + length)
        for k in 0..<4 { bytes[frame + 8 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
        // Without the index footer (a file still being written has none), the open reads the frames.
        try Data(bytes[..<(body + length)]).write(to: URL(fileURLWithPath: path))
        let ro = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        #expect(try ro.scan("a").count == 100)
        try ro.close()
        do {
            _ = try Database(path: dir.path)
            Issue.record("a writer opened a database whose LSN cannot grow")
        } catch let e as AliceDBError {
            #expect(e.code == .corrupt)
            #expect(e.description.contains("LSN 18446744073709551615"))
        }
    }

    @Test func corruptCatalogIsAClearError() throws {
        let dir = TempDirectory()
        try fill(dir)
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: dir.path + "/catalog.json"))
        do {
            _ = try Database(path: dir.path)
            Issue.record("opened a database with a corrupt catalog")
        } catch let e as AliceDBError {
            #expect(e.code == .corrupt)
            #expect(e.description.contains("catalog.json"))
        }
        // The segments were not touched.
        #expect(try segmentFiles(dir).count > 0)
    }

    @Test func garbageSegmentFileDoesNotStopTheOthers() throws {
        let dir = TempDirectory()
        try fill(dir)
        try Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(
            to: URL(fileURLWithPath: dir.path + "/segments/00000000000000ff.seg"))
        let ro = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        #expect(try ro.scan("a").count == 5000)
        #expect(!(try ro.verify().ok))
    }

    @Test func compactionMergesFilesAndKeepsEveryPoint() throws {
        let dir = TempDirectory()
        for round in 0..<4 {
            let db = try Database(path: dir.path, options: DatabaseOptions(defaultCapacity: 500))
            let ts = (0..<1000).map { Int64(round * 1000 + $0) }
            try db.putBatch("c", timestamps: ts, values: ts.map { Double($0) / 4 })
            try db.close()
        }
        #expect(try segmentFiles(dir).count == 4)
        let db = try Database(path: dir.path)
        #expect(try db.compact() == 4)
        #expect(try segmentFiles(dir).count == 1)
        try db.close()
        let ro = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        let got = try ro.scan("c")
        #expect(got.map(\.timestamp) == (0..<4000).map(Int64.init))
        #expect(try ro.verify().ok)
    }

    @Test func retentionByAgeAndBytesIsCounted() throws {
        let dir = TempDirectory()
        let db = try Database(path: dir.path, options: DatabaseOptions(defaultCapacity: 1000))
        let ts = (0..<10_000).map { Int64($0) }
        try db.putBatch("r", timestamps: ts, values: ts.map { _ in Double.random(in: 0..<1) })
        try db.flush()
        let byAge = try db.applyRetention(olderThan: 3000)
        #expect(byAge.segments == 3)
        #expect(byAge.points == 3000)
        #expect(try db.scan("r").first?.timestamp == 3000)
        let before = try db.stats().bytes
        let byBytes = try db.applyRetention(maxBytes: before / 2)
        #expect(byBytes.segments > 0)
        #expect(db.counters.retentionPoints == 3000 + byBytes.points)
        try db.close()
        // Dropped points do not come back from the WAL on reopen.
        let again = try Database(path: dir.path)
        #expect(try again.scan("r").count == 7000 - byBytes.points)
        try again.close()
    }

    @Test func writerCompactsAndAppliesRetentionOnItsOwn() throws {
        let dir = TempDirectory()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for round in 0..<9 {
            let db = try Database(path: dir.path)
            // Half the rounds write a day-old point, half a fresh one.
            try db.put("auto", round % 2 == 0 ? now - 86_400_000 + Int64(round) : now + Int64(round), Double(round))
            try db.close()
        }
        #expect(try segmentFiles(dir).count < 9)  // merged once there were 8 small files
        let db = try Database(
            path: dir.path, options: DatabaseOptions(retention: RetentionPolicy(maxAgeMilliseconds: 3_600_000)))
        #expect(try db.scan("auto").map(\.value) == [1, 3, 5, 7])
        #expect(db.counters.retentionPoints == 5)
        try db.close()
    }

    /// Several series at once, each with its options: new ones are created with them, a bad name
    /// refuses only its own points, and a catalog that cannot be written creates no series at all
    /// (it used to leave a lossless one behind).
    @Test func putBatchesCreateSeriesWithTheirOptionsOrNotAtAll() throws {
        let dir = TempDirectory()
        let db = try Database(path: dir.path)
        let lossy = SeriesOptions(bound: ErrorBound(absolute: 0.5))
        let results = try db.putBatches([
            SeriesBatch(series: "good", options: lossy, timestamps: [1, 2], values: [1.5, 2.5]),
            SeriesBatch(series: "", options: lossy, timestamps: [1], values: [1]),
            SeriesBatch(series: "plain", options: SeriesOptions(), timestamps: [3], values: [3]),
        ])
        #expect(results[0] == nil && results[1]?.code == .invalidArgument && results[2] == nil)
        #expect(db.series(named: "good")?.options == lossy && db.series(named: "plain")?.options == SeriesOptions())
        #expect(try db.scan("good").count == 2 && db.listSeries().count == 2)
        // Another bound changes the series, in the same call as its points.
        let tight = SeriesOptions(bound: ErrorBound(absolute: 0.01))
        #expect(
            try db.putBatches([SeriesBatch(series: "good", options: tight, timestamps: [4], values: [4])]).allSatisfy {
                $0 == nil
            })
        #expect(db.series(named: "good")?.options == tight)
        // The catalog cannot be replaced (its temporary file's name is taken by a directory).
        try FileManager.default.createDirectory(
            atPath: dir.path + "/catalog.json.tmp", withIntermediateDirectories: false)
        let failed = try db.putBatches([SeriesBatch(series: "new", options: lossy, timestamps: [5], values: [5])])
        #expect(failed.first??.code != nil)
        #expect(db.series(named: "new") == nil)
        #expect(throws: AliceDBError.self) { try db.scan("new") }
        try FileManager.default.removeItem(atPath: dir.path + "/catalog.json.tmp")
        #expect(
            try db.putBatches([SeriesBatch(series: "new", options: lossy, timestamps: [5], values: [5])]).allSatisfy {
                $0 == nil
            })
        #expect(db.series(named: "new")?.options == lossy)
        try db.close()
        let again = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        #expect(again.series(named: "new")?.options == lossy && again.series(named: "good")?.options == tight)
        #expect(try again.scan("good").count == 3)
    }

    @Test func unknownSeriesAndReadOnlyWritesAreErrors() throws {
        let dir = TempDirectory()
        try fill(dir)
        let ro = try Database(path: dir.path, options: DatabaseOptions(readOnly: true))
        #expect(throws: AliceDBError.self) { try ro.scan("nope") }
        #expect(throws: AliceDBError.self) { try ro.put("a", 1, 1) }
        #expect(throws: AliceDBError.self) {
            _ = try Database(path: dir.path + "/missing", options: DatabaseOptions(readOnly: true))
        }
    }
}
