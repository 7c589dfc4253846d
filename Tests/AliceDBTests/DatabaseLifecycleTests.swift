import Foundation
import TestKit
import TestSupport
import Testing

@testable import AliceDB

/// What a database does at the end of its life: `close()` flushes; dropping it does not, and
/// loses nothing either.
@Suite struct DatabaseLifecycleTests {
    @Test func droppedWithoutCloseKeepsItsPointsInTheWAL() throws {
        let dir = TempDirectory()
        let ts = (0..<500).map { Int64($0) * 1000 }
        let values = ts.map { Double($0 % 7919) / 10 }
        do {
            var o = DatabaseOptions(sync: .off)
            o.maintenanceTimer = false
            let db = try Database(path: dir.path, options: o)
            try db.putBatch("s", timestamps: ts, values: values)
            // Dropped here: no flush, so no segment; the records are written to the WAL file.
        }
        let segments = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/segments")
        #expect(segments.isEmpty)
        let db = try Database(path: dir.path)
        #expect(try db.scan("s").map(\.value) == values)
        #expect(try db.stats().bufferedPoints == 500)
        try db.close()
        // Closed: every point in segments and the WAL gone.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/wal").isEmpty)
        #expect(try Database(path: dir.path, options: DatabaseOptions(readOnly: true)).stats().bufferedPoints == 0)
    }
}
