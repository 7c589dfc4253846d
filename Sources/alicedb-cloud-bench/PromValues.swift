import AgentHarness

/// One data set's values and their OpenMetrics spellings (`PrometheusServer.value`), end to end.
struct PromValues {
    var values: [Double]
    var text: [UInt8] = []
    var starts: [Int] = [0]

    init(_ values: [Double]) {
        self.values = values
        for v in values {
            text.append(contentsOf: PrometheusServer.value(v).utf8)
            starts.append(text.count)
        }
    }
}
