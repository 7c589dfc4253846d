internal import AliceFormat
internal import Logging

/// The bound on the WAL's bytes (`DatabaseOptions.walMaxBytes`).
extension Engine {
    /// Keeps the WAL within `walMaxBytes`: past it, the buffers holding records of the oldest WAL
    /// files are flushed (oldest record first), until deleting those files brings the WAL back
    /// under the limit. Each file is at most a quarter of the limit, so one trim frees about that.
    /// - Complexity: O(buffers) to find those to flush, plus the flushes.
    func trimWAL() throws(AliceDBError) {
        guard let limit = options.walMaxBytes, let wal, disk.full == nil, wal.totalBytes > limit else { return }
        let excess = wal.totalBytes - limit
        var freed = 0
        var cut: UInt64 = 0  // every record up to this LSN must be in segments
        for f in wal.closedFiles where freed < excess {
            freed += f.bytes
            cut = max(cut, f.maxLSN)
        }
        if freed < excess {
            // The closed files are not enough: the current one goes too.
            cut = nextLSN &- 1
            guard try tolerating({ () throws(AliceDBError) in try wal.flushBuffer() }) else { return }
        }
        let due = mem.buffers.filter { $0.value.count > 0 && $0.value.oldestLSN <= cut }
            .sorted { $0.value.oldestLSN < $1.value.oldestLSN }.map(\.key)
        for s in due {
            guard try tolerating({ () throws(AliceDBError) in try flushSeries(s, cleanWAL: false) }) else { return }
            counters.flushesWAL += 1
        }
        try removeObsoleteWAL()
    }
}
