internal import AliceFormat
internal import Logging

extension WAL {
    /// The part of a record that a recovery puts back into the MemTable.
    struct Unflushed {
        var series: UInt32
        var lsn: UInt64
        var timestamps: ArraySlice<Int64>
        var values: ArraySlice<Double>
        /// How many of the record's points come before these (a batch can be flushed part way).
        var recordOffset: UInt64
    }

    /// Replays the WAL, handing `body` every point not yet in segments: records newer than their
    /// series' flushed position, and the tail of a record that a flush took part of.
    /// - Returns: the WAL's files with their highest LSN, and the highest LSN seen.
    static func replayUnflushed(
        dir: String, repair: Bool, logger: Logger, flushed: (UInt32) -> WALPosition,
        _ body: (Unflushed) throws(AliceDBError) -> Void
    ) throws(AliceDBError) -> (files: [UInt64: UInt64], maxLSN: UInt64) {
        // Sub-records of one big batch share an LSN; `consumed` counts that record's points so far.
        var currentLSN: UInt64 = 0
        var consumed: UInt64 = 0
        return try replay(dir: dir, repair: repair, logger: logger) { record throws(AliceDBError) in
            if record.lsn != currentLSN {
                currentLSN = record.lsn
                consumed = 0
            }
            let before = consumed
            let n = UInt64(record.timestamps.count)
            consumed += n
            let position = flushed(record.seriesID)
            var skip: UInt64 = 0
            if record.lsn < position.lsn { return }
            if record.lsn == position.lsn {
                if position.points == 0 || position.points >= before + n { return }
                skip = position.points > before ? position.points - before : 0
            }
            try body(
                Unflushed(
                    series: record.seriesID, lsn: record.lsn, timestamps: record.timestamps[Int(skip)...],
                    values: record.values[Int(skip)...], recordOffset: before + skip))
        }
    }
}
