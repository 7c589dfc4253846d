/// The unflushed points of one series, kept sorted by timestamp (ties in arrival order).
package struct SeriesBuffer {
    package var ts: [Int64] = []
    package var values: [Double] = []
    /// Flush when this many points are buffered.
    package var capacity: Int
    /// LSN of the oldest and newest WAL record with points here (0 when empty).
    package var oldestLSN: UInt64 = 0
    package var newestLSN: UInt64 = 0
    /// When the first buffered point arrived (monotonic ns), for age-based flushes.
    package var firstArrival: UInt64 = 0

    init(capacity: Int) { self.capacity = capacity }

    package var count: Int { ts.count }
    package var isFull: Bool { ts.count >= capacity }
    /// Bytes this buffer holds allocated.
    package var bytes: Int { (ts.capacity + values.capacity) * 8 }

    /// Inserts a point in time order; returns whether it arrived out of order.
    @inline(__always)
    package mutating func insert(_ t: Int64, _ v: Double, lsn: UInt64, now: UInt64) -> Bool {
        if ts.isEmpty {
            oldestLSN = lsn
            firstArrival = now
        }
        newestLSN = max(newestLSN, lsn)
        if ts.count == ts.capacity && ts.count < capacity {
            // Grow by doubling but never past the configured capacity. Not reserved up front: when
            // a thousand series appear at once, their memory then comes as their points do, not
            // all in the first second on top of start-up's code pages (the agent's peak).
            let next = min(capacity, max(16, ts.capacity * 2))
            ts.reserveCapacity(next)
            values.reserveCapacity(next)
        }
        if let last = ts.last, t < last {
            // Late point: after every equal timestamp already here (arrival order for ties).
            var lo = 0, hi = ts.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if ts[mid] <= t { lo = mid + 1 } else { hi = mid }
            }
            ts.insert(t, at: lo)
            values.insert(v, at: lo)
            return true
        }
        ts.append(t)
        values.append(v)
        return false
    }

    /// Empties the buffer; keeps its storage unless asked to release it.
    package mutating func clear(release: Bool) {
        ts.removeAll(keepingCapacity: !release)
        values.removeAll(keepingCapacity: !release)
        oldestLSN = 0
        newestLSN = 0
        firstArrival = 0
    }
}

/// All series' buffers under one byte budget.
package struct MemTable {
    package var buffers: [UInt32: SeriesBuffer] = [:]
    package let budget: Int

    init(budget: Int) { self.budget = budget }

    package var bytes: Int { buffers.values.reduce(0) { $0 + $1.bytes } }
    package var points: Int { buffers.values.reduce(0) { $0 + $1.count } }

    /// The oldest LSN whose points are still only in the WAL.
    func minUnflushedLSN(else next: UInt64) -> UInt64 {
        buffers.values.reduce(next) { $1.count > 0 ? min($0, $1.oldestLSN) : $0 }
    }

    /// The buffer to flush under budget pressure: the largest, the oldest among equals.
    func victim() -> UInt32? {
        buffers.filter { $0.value.count > 0 }.max { a, b in
            (a.value.bytes, b.value.firstArrival) < (b.value.bytes, a.value.firstArrival)
        }?.key
    }
}
