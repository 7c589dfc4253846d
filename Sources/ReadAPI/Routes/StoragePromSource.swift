internal import AliceDB

/// A store's series and their data, as the evaluator reads them.
struct StoragePromSource: PromSource {
    let store: any ReadStore
    let visible: [PromLabels]

    func select(_ matchers: [PromMatcher]) async throws(QueryError) -> [PromLabels] {
        let out = visible.filter { l in matchers.allSatisfy { $0.matches(l[$0.label] ?? "") } }
        guard out.count <= PrometheusQueries.maxSeries else {
            throw .badRequest("the query selects more than \(PrometheusQueries.maxSeries) series: add label matchers")
        }
        return out
    }

    func samples(_ labels: PromLabels, from: Int64, to: Int64) async throws(QueryError) -> PromSamples {
        guard from <= to else { return PromSamples(labels: labels) }
        let g = labels["gateway"] ?? ""
        let s = labels["series"] ?? ""
        do {
            // The decoded segments' arrays as they come (a scan's per-point calls cost more than the decoding).
            var out = PromSamples(labels: labels)
            for case .points(let ts, let vs) in try await store.pieces(
                g, s, from: from, to: to, summarize: { _, _ in false })
            {
                if out.timestamps.isEmpty {
                    out.timestamps = ts
                    out.values = vs
                } else {
                    out.timestamps += ts
                    out.values += vs
                }
            }
            return out
        } catch { throw QueryError.http(error) }
    }

    func pieces(_ labels: PromLabels, from: Int64, to: Int64, summarize: @Sendable (Int64, Int64) -> Bool)
        async throws(QueryError) -> [SeriesPiece]
    {
        guard from <= to else { return [] }
        let g = labels["gateway"] ?? ""
        let s = labels["series"] ?? ""
        do { return try await store.pieces(g, s, from: from, to: to, summarize: summarize) } catch {
            throw QueryError.http(error)
        }
    }
}
