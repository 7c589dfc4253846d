/// A Grafana panel: one PromQL expression over the whole loaded range, as consecutive range
/// queries (each at most `PromQLBench.chunkSteps` steps, under both servers' 11 000).
struct PromPanel {
    var query: String
    var series: Int
    var step: Int64
    var steps: Int64
    var ranges: [(start: Int64, end: Int64)]

    /// Steps `PromQLBench.start + step`, … up to the end of `days`, cut into queries of at most
    /// `PromQLBench.chunkSteps`.
    init(_ query: String, series: Int, step: Int64, days: Int) {
        let steps = Int64(days) * 86_400 / step
        let first = PromQLBench.start + step
        ranges = stride(from: Int64(0), to: steps, by: Int(PromQLBench.chunkSteps)).map { k in
            (start: first + k * step, end: first + (min(k + PromQLBench.chunkSteps, steps) - 1) * step)
        }
        self.query = query
        self.series = series
        self.step = step
        self.steps = steps
    }

    /// The panels measured over `n` series: raw and windowed reads of one series and of all,
    /// then an aggregation across series.
    static func all(series n: Int, days: Int) -> [PromPanel] {
        var out = [PromPanel]()
        for (selector, count) in [("alicedb{series=\"s0\"}", 1), ("alicedb", n)] {
            out.append(PromPanel(selector, series: count, step: 60, days: days))
            out.append(PromPanel("avg_over_time(\(selector)[1m])", series: count, step: 60, days: days))
            out.append(PromPanel("max_over_time(\(selector)[5m])", series: count, step: 60, days: days))
            out.append(PromPanel("rate(\(selector)[5m])", series: count, step: 60, days: days))
            out.append(PromPanel("avg_over_time(\(selector)[1h])", series: count, step: 3600, days: days))
            out.append(PromPanel("sum_over_time(\(selector)[1h])", series: count, step: 3600, days: days))
        }
        out.append(PromPanel("sum(avg_over_time(alicedb[1h]))", series: n, step: 3600, days: days))
        out.append(PromPanel("avg by (gateway) (alicedb)", series: n, step: 60, days: days))
        return out
    }
}
