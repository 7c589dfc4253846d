internal import AliceDB

/// Points taken from MQTT messages and not yet handed to the engine, by series.
///
/// The agent batches across messages so that the engine sees one `putBatches` call (one lock, one
/// catalog write) per flush rather than one per message; this holds the batches between flushes.
struct PendingPoints {
    /// Points of one series waiting for the next `putBatches`.
    struct Batch {
        /// The series options of the subscription the latest point came through (bound, profile).
        var options: SeriesOptions
        var ts: [Int64] = []
        var values: [Double] = []
        mutating func append(_ t: Int64, _ v: Double, _ options: SeriesOptions) {
            ts.append(t)
            values.append(v)
            self.options = options
        }
    }

    private var batches: [String: Batch] = [:]
    /// Points waiting, over every series.
    private(set) var count = 0

    mutating func add(_ series: String, _ t: Int64, _ v: Double, _ options: SeriesOptions) {
        batches[series, default: Batch(options: options)].append(t, v, options)
        count += 1
    }

    /// Every waiting point, one batch per series, and nothing waits any more.
    mutating func take() -> [SeriesBatch] {
        let out = batches.map { series, b in
            SeriesBatch(series: series, options: b.options, timestamps: b.ts, values: b.values)
        }
        batches.removeAll(keepingCapacity: true)
        count = 0
        return out
    }
}
