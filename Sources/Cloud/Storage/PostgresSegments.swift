internal import AliceDB
internal import NIOCore
internal import PostgresNIO

/// What the queries read from `alicedb_segments`: the segments that overlap a range, found by
/// `series_key` and `first_ts` and bounded below by the series' longest segment (`max_span`), so
/// the index range is tight; whole-segment summaries come from columns, bodies only where asked.
struct PostgresSegments: Sendable {
    let pool: PostgresPool

    /// Segments of `key` that overlap `[from, to]` and sort after `(afterFirst, afterSeq)`, by
    /// `(first_ts, seq)`: at most `limit`. `whole` asks for summaries only where a segment lies
    /// inside the range (its body is then not sent).
    func overlapping(
        _ key: String, from: Int64, to: Int64, after: (Int64, Int64)? = nil, limit: Int? = nil,
        partialOnly: Bool = false
    )
        async throws(AliceDBError) -> [FetchedSegment]
    {
        let client = pool.client
        let (afterFirst, afterSeq) = after ?? (.min, .min)
        return try await pool.run("reading segments") {
            var out = [FetchedSegment]()
            // The lower bound on first_ts: no segment of the series spans more than max_span.
            let rows = try await client.query(
                """
                SELECT first_ts, last_ts, seq, body FROM alicedb_segments
                WHERE series_key = \(key) AND first_ts <= \(to) AND last_ts >= \(from)
                  AND first_ts >= (SELECT CASE WHEN \(from) < \(Int64.min) + max_span THEN \(Int64.min) ELSE \(from) - max_span END
                                   FROM alicedb_series WHERE series_key = \(key))
                  AND (first_ts, seq) > (\(afterFirst), \(afterSeq))
                  AND (NOT \(partialOnly) OR first_ts < \(from) OR last_ts > \(to))
                ORDER BY first_ts, seq
                LIMIT \(Int64(limit ?? Int(Int32.max)))
                """)
            for try await (first, last, seq, body) in rows.decode((Int64, Int64, Int64, ByteBuffer).self) {
                out.append(FetchedSegment(first: first, last: last, seq: seq, body: Array(body.readableBytesView)))
            }
            return out
        }
    }

    /// Segments of `key` that overlap `[from, to]`, in order, with their summaries; a segment's body
    /// is left out (nil) where it lies inside `[from, to]` and inside one `bucket`-wide bucket from
    /// `from` (its summary then answers), and always sent without `bucket`.
    func summarized(_ key: String, from: Int64, to: Int64, bucket: Int64?)
        async throws(AliceDBError) -> [(first: Int64, last: Int64, summary: SegmentSummary, body: [UInt8]?)]
    {
        let client = pool.client
        let skip = bucket != nil
        let width = bucket ?? 1
        return try await pool.run("reading segments") {
            var out = [(first: Int64, last: Int64, summary: SegmentSummary, body: [UInt8]?)]()
            let rows = try await client.query(
                """
                SELECT first_ts, last_ts, points::int8, nan_count::int8, min_value, max_value, sum_value,
                       CASE WHEN \(skip) AND first_ts >= \(from) AND last_ts <= \(to)
                             AND div(first_ts::numeric - \(from), \(width)) = div(last_ts::numeric - \(from), \(width))
                            THEN NULL ELSE body END
                FROM alicedb_segments
                WHERE series_key = \(key) AND first_ts <= \(to) AND last_ts >= \(from)
                  AND first_ts >= (SELECT CASE WHEN \(from) < \(Int64.min) + max_span THEN \(Int64.min) ELSE \(from) - max_span END
                                   FROM alicedb_series WHERE series_key = \(key))
                ORDER BY first_ts, seq
                """)
            for try await (first, last, points, nans, lo, hi, sum, body) in rows.decode(
                (Int64, Int64, Int64, Int64, Double, Double, Double, ByteBuffer?).self)
            {
                out.append(
                    (
                        first, last,
                        SegmentSummary(count: Int(points), nanCount: Int(nans), min: lo, max: hi, sum: sum),
                        body.map { Array($0.readableBytesView) }
                    ))
            }
            return out
        }
    }

    /// The exact summary of the segments of `key` that lie inside `[from, to]`, summed by the database.
    func summaryInside(_ key: String, from: Int64, to: Int64) async throws(AliceDBError) -> SegmentSummary {
        let client = pool.client
        return try await pool.run("aggregating") {
            let rows = try await client.query(
                """
                SELECT count(*)::int8, coalesce(sum(points), 0)::int8, coalesce(sum(nan_count), 0)::int8, min(min_value), max(max_value),
                       coalesce(sum(sum_value), 0)
                FROM alicedb_segments WHERE series_key = \(key) AND first_ts >= \(from) AND first_ts <= \(to) AND last_ts <= \(to)
                """)
            for try await (_, points, nans, lo, hi, sum) in rows.decode(
                (Int64, Int64, Int64, Double?, Double?, Double).self)
            {
                return SegmentSummary(
                    count: Int(points), nanCount: Int(nans), min: lo ?? .infinity, max: hi ?? -.infinity, sum: sum)
            }
            return .empty
        }
    }
}

/// A segment row as a query fetched it.
struct FetchedSegment: Sendable {
    var first: Int64
    var last: Int64
    var seq: Int64
    var body: [UInt8]
}
