internal import AliceFormat

extension Catalog {
    /// What storing `batches` asks of the catalog: the series to create or change (each once, with
    /// the options of its last batch), the batches that ask it, and an error in place of each
    /// batch whose series name or options are refused.
    func changes(for batches: [SeriesBatch]) -> (
        changes: [(name: String, options: SeriesOptions)], changed: [Int], results: [AliceDBError?]
    ) {
        var results = [AliceDBError?](repeating: nil, count: batches.count)
        var changes = [(name: String, options: SeriesOptions)]()
        var index = [String: Int]()
        var changed = [Int]()
        for (i, b) in batches.enumerated() where byName[b.series]?.options != b.options {
            do throws(AliceDBError) {
                try b.options.check(series: b.series)
                if let j = index[b.series] {
                    changes[j].options = b.options
                } else {
                    index[b.series] = changes.count
                    changes.append((b.series, b.options))
                }
                changed.append(i)
            } catch {
                results[i] = error
            }
        }
        return (changes, changed, results)
    }
}
