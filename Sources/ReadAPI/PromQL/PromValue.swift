internal import AliceDB

/// A label set: `__name__`, `gateway`, `series`, and whatever functions add.
typealias PromLabels = [String: String]

/// One series of an evaluated instant vector over every step: nil where it has no sample.
struct PromSeries: Sendable {
    var labels: PromLabels
    var values: [Double?]
}

/// A series' raw samples (a range vector at a single evaluation time).
struct PromSamples: Sendable {
    var labels: PromLabels = [:]
    var timestamps: [Int64] = []
    var values: [Double] = []
}

/// What an expression evaluates to, over all steps of the query.
enum PromValue: Sendable {
    case scalar([Double])
    case vector([PromSeries])
    case string(String)
    /// A range vector: only the result of an instant query (`alicedb[5m]`).
    case matrix([PromSamples])
}

/// Where the evaluator reads series: the labels that matchers select, and their data.
protocol PromSource: Sendable {
    /// The series whose labels satisfy every matcher (an absent label is the empty string).
    func select(_ matchers: [PromMatcher]) async throws(QueryError) -> [PromLabels]
    /// The points of a series in `[from, to]`, in time order.
    func samples(_ labels: PromLabels, from: Int64, to: Int64) async throws(QueryError) -> PromSamples
    /// The data of `[from, to]` in time order, as summaries for the segments that lie wholly inside
    /// it and that `summarize(first, last)` accepts, and as points elsewhere.
    func pieces(_ labels: PromLabels, from: Int64, to: Int64, summarize: @Sendable (Int64, Int64) -> Bool)
        async throws(QueryError) -> [SeriesPiece]
}
