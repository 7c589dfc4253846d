/// How far into the WAL a series' points are in segments: every record before `lsn`, and of the
/// record `lsn` the first `points` points (0: all of it). A big batch can span several flushes.
package struct WALPosition: Comparable, Sendable, Hashable {
    package var lsn: UInt64
    package var points: UInt64

    package static let start = WALPosition(lsn: 0, points: 0)

    package init(lsn: UInt64, points: UInt64) {
        self.lsn = lsn
        self.points = points
    }

    package static func < (a: WALPosition, b: WALPosition) -> Bool {
        (a.lsn, a.points == 0 ? UInt64.max : a.points) < (b.lsn, b.points == 0 ? UInt64.max : b.points)
    }
}
