/// Step-by-step samples gathered into series by label set; two samples of one label set at one
/// step are Prometheus's "vector cannot contain metrics with the same labelset".
struct PromCollector {
    let steps: Int
    var order = [String]()
    var series = [String: PromSeries]()

    init(steps: Int) { self.steps = steps }

    mutating func add(_ labels: PromLabels, _ k: Int, _ v: Double) throws(QueryError) {
        try add(PromQL.signature(labels), labels, k, v)
    }

    /// - Parameter sig: `signature(labels)`, when the caller has it already.
    mutating func add(_ sig: String, _ labels: @autoclosure () -> PromLabels, _ k: Int, _ v: Double)
        throws(QueryError)
    {
        if series[sig] == nil {
            order.append(sig)
            series[sig] = PromSeries(labels: labels(), values: Array(repeating: nil, count: steps))
        }
        guard series[sig]!.values[k] == nil else {
            throw QueryError(.unprocessableContent, "vector cannot contain metrics with the same labelset")
        }
        series[sig]!.values[k] = v
    }

    var result: [PromSeries] { order.compactMap { series[$0] } }
}
