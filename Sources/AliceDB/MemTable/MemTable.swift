internal import AliceFormat

/// The unflushed points of one series, kept sorted by timestamp (ties in arrival order): packed
/// (`PackedPoints`) while they arrive in order; after a late point, plain sorted arrays until the
/// next flush (inserting into the middle of packed bytes would repack them for every late point).
package struct SeriesBuffer {
    private var packed = PackedPoints()
    private var lateTS: [Int64] = []
    private var lateValues: [Double] = []
    private var unpacked = false
    /// Flush when this many points are buffered.
    package var capacity: Int
    /// LSN of the oldest and newest WAL record with points here (0 when empty).
    package var oldestLSN: UInt64 = 0
    package var newestLSN: UInt64 = 0
    /// When the first buffered point arrived (monotonic ns), for age-based flushes.
    package var firstArrival: UInt64 = 0
    /// The earliest and latest timestamp buffered (meaningless when empty).
    package private(set) var first = Int64.max
    package private(set) var last = Int64.min

    init(capacity: Int) { self.capacity = capacity }

    package var count: Int { unpacked ? lateTS.count : packed.count }
    package var isFull: Bool { count >= capacity }
    /// Bytes this buffer holds allocated.
    package var bytes: Int { packed.allocated + (lateTS.capacity + lateValues.capacity) * 8 }

    /// Inserts a point in time order; returns whether it arrived out of order.
    @inline(__always)
    package mutating func insert(_ t: Int64, _ v: Double, lsn: UInt64, now: UInt64) -> Bool {
        let empty = count == 0
        if empty {
            oldestLSN = lsn
            firstArrival = now
        }
        newestLSN = max(newestLSN, lsn)
        let late = !empty && t < last
        first = min(first, t)
        last = max(last, t)
        if !unpacked && !late {
            packed.append(t, v)
            return false
        }
        if !unpacked {
            packed.unpack(into: &lateTS, &lateValues)
            packed.clear(release: true)
            unpacked = true
        }
        // After every equal timestamp already here (arrival order for ties).
        var lo = lateTS.count
        if late {
            lo = 0
            var hi = lateTS.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if lateTS[mid] <= t { lo = mid + 1 } else { hi = mid }
            }
        }
        lateTS.insert(t, at: lo)
        lateValues.insert(v, at: lo)
        return late
    }

    /// Appends every point, in order, to `ts` and `values`.
    package func unpack(into ts: inout [Int64], _ values: inout [Double]) {
        if unpacked {
            ts.append(contentsOf: lateTS)
            values.append(contentsOf: lateValues)
        } else {
            packed.unpack(into: &ts, &values)
        }
    }

    /// Every point, in order (for queries).
    package func points() -> (ts: [Int64], values: [Double]) {
        var ts = [Int64]()
        var values = [Double]()
        unpack(into: &ts, &values)
        return (ts, values)
    }

    /// Every point, in order, when any can lie in `[from, to]` (nil: none does; queries skip the unpacking).
    package func points(from: Int64, to: Int64) -> (ts: [Int64], values: [Double])? {
        count > 0 && last >= from && first <= to ? points() : nil
    }

    /// Empties the buffer; keeps its storage unless asked to release it (the arrays a late point
    /// brought are always released: they are the exception).
    package mutating func clear(release: Bool) {
        packed.clear(release: release)
        if unpacked {
            lateTS = []
            lateValues = []
            unpacked = false
        }
        oldestLSN = 0
        newestLSN = 0
        firstArrival = 0
        first = .max
        last = .min
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
