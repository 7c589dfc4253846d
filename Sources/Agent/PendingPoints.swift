internal import AliceDB

/// Points taken from MQTT messages and not yet handed to the engine, by series.
///
/// The agent batches across messages so that the engine sees one `putBatches` call (one lock, one
/// catalog write) per flush rather than one per message; this holds the batches between flushes.
struct PendingPoints {
    /// Points of one series waiting for the next `putBatches`.
    struct Batch {
        /// The bound of the subscription the latest point came through: the series' bound.
        var bound: ErrorBound
        var ts: [Int64] = []
        var values: [Double] = []
        mutating func append(_ t: Int64, _ v: Double, _ bound: ErrorBound) {
            ts.append(t)
            values.append(v)
            self.bound = bound
        }
    }

    private var batches: [String: Batch] = [:]
    /// Points waiting, over every series.
    private(set) var count = 0

    mutating func add(_ series: String, _ t: Int64, _ v: Double, _ bound: ErrorBound) {
        batches[series, default: Batch(bound: bound)].append(t, v, bound)
        count += 1
    }

    /// Every waiting point, one batch per series, and nothing waits any more.
    mutating func take() -> [SeriesBatch] {
        let out = batches.map { series, b in
            SeriesBatch(series: series, options: SeriesOptions(bound: b.bound), timestamps: b.ts, values: b.values)
        }
        batches.removeAll(keepingCapacity: true)
        count = 0
        return out
    }
}
