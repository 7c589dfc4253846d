internal import AliceDB
internal import NIOCore
internal import PostgresNIO

/// A gateway's batch into PostgreSQL, in one transaction: series rows first seen, segments
/// `ON CONFLICT DO NOTHING` (a segment sent again is a duplicate), the series' running totals
/// (what the listings and the queries' index bounds read), the gateway's last upload.
struct PostgresIngest: Sendable {
    let pool: PostgresPool

    /// Stores `batch` from `gateway` in one transaction: durable when this returns.
    func ingest(_ batch: SegmentBatch, from gateway: String) async throws -> ImportReport {
        var report = ImportReport()
        var rows = SegmentRows()
        var newSeries = [String: ErrorBound]()
        for (i, e) in batch.entries.enumerated() {
            do { try ReceivedSegment.validate(seriesName: e.series) } catch {
                report.rejected.append((i, error.message))
                continue
            }
            let received: ReceivedSegment
            do { received = try ReceivedSegment(checking: e.segment) } catch {
                report.rejected.append((i, error.message))
                continue
            }
            if newSeries[e.series] == nil { newSeries[e.series] = e.bound }
            rows.append(PostgresSchema.key(gateway, e.series), received)
        }
        guard !rows.keys.isEmpty else { return report }
        let (client, logger) = (pool.client, pool.logger)
        let names = newSeries.keys.sorted()
        let absolute = names.map { newSeries[$0]!.absolute }
        let relative = names.map { newSeries[$0]!.relativePercent }
        let now = FileIO.wallMillis()
        let inserted = try await pool.run("storing a batch") { [rows] in
            try await client.withTransaction(logger: logger) { c in
                try await c.query(
                    """
                    INSERT INTO alicedb_series (series_key, gateway, series, abs_bound, rel_bound)
                    SELECT \(gateway) || '/' || n, \(gateway), n, a, r
                    FROM unnest(\(names)::text[], \(absolute)::float8[], \(relative)::float8[]) AS u(n, a, r)
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
                // In batch order (seq follows it, so ties resolve as on the gateway); the same
                // segment again is skipped by the primary key.
                var stored = [(key: String, first: Int64, last: Int64, points: Int64, bytes: Int64)]()
                let result = try await c.query(
                    """
                    INSERT INTO alicedb_segments (series_key, first_ts, last_ts, digest, points, nan_count, min_value, max_value,
                                                  sum_value, max_error, model, received_ms, body)
                    SELECT k, f, l, sha256(b), p, n, mi, ma, su, me, mo, \(now), b
                    FROM unnest(\(rows.keys)::text[], \(rows.first)::int8[], \(rows.last)::int8[], \(rows.points)::int4[],
                                \(rows.nans)::int4[], \(rows.min)::float8[], \(rows.max)::float8[], \(rows.sum)::float8[],
                                \(rows.maxError)::float8[], \(rows.model)::int2[], \(rows.bodies)::bytea[])
                         WITH ORDINALITY AS u(k, f, l, p, n, mi, ma, su, me, mo, b, ord)
                    ORDER BY ord
                    ON CONFLICT DO NOTHING
                    RETURNING series_key, first_ts, last_ts, points::int8, length(body)::int8
                    """, logger: logger)
                for try await r in result.decode((String, Int64, Int64, Int64, Int64).self) { stored.append(r) }
                var totals = [String: (n: Int64, points: Int64, bytes: Int64, first: Int64, last: Int64, span: Int64)]()
                for s in stored {
                    var t = totals[s.key] ?? (0, 0, 0, .max, .min, 0)
                    t.n += 1
                    t.points += s.points
                    t.bytes += s.bytes
                    t.first = min(t.first, s.first)
                    t.last = max(t.last, s.last)
                    t.span = max(t.span, s.last &- s.first)
                    totals[s.key] = t
                }
                let keys = totals.keys.sorted()
                if !keys.isEmpty {
                    let v = keys.map { totals[$0]! }
                    try await c.query(
                        """
                        UPDATE alicedb_series s SET segments = s.segments + u.n, points = s.points + u.p, bytes = s.bytes + u.b,
                            first_ts = LEAST(s.first_ts, u.f), last_ts = GREATEST(s.last_ts, u.l), max_span = GREATEST(s.max_span, u.span)
                        FROM unnest(\(keys)::text[], \(v.map(\.n))::int8[], \(v.map(\.points))::int8[], \(v.map(\.bytes))::int8[],
                                    \(v.map(\.first))::int8[], \(v.map(\.last))::int8[], \(v.map(\.span))::int8[]) AS u(k, n, p, b, f, l, span)
                        WHERE s.series_key = u.k
                        """, logger: logger)
                }
                try await c.query(
                    """
                    INSERT INTO alicedb_gateways (gateway, last_upload_ms) VALUES (\(gateway), \(now))
                    ON CONFLICT (gateway) DO UPDATE SET last_upload_ms = GREATEST(alicedb_gateways.last_upload_ms, EXCLUDED.last_upload_ms)
                    """, logger: logger)
                return stored.map(\.points)
            }
        }
        report.stored = inserted.count
        report.duplicates = rows.keys.count - inserted.count
        report.points = Int(inserted.reduce(0, +))
        return report
    }
}

/// Column arrays of the segments in a batch, for one `INSERT … SELECT FROM unnest(…)`.
struct SegmentRows: Sendable {
    var keys = [String](), first = [Int64](), last = [Int64](), points = [Int32](), nans = [Int32]()
    var min = [Double](), max = [Double](), sum = [Double](), maxError = [Double](), model = [Int16]()
    var bodies = [ByteBuffer]()

    mutating func append(_ key: String, _ s: ReceivedSegment) {
        let h = s.header
        keys.append(key)
        first.append(h.firstTimestamp)
        last.append(h.lastTimestamp)
        points.append(Int32(h.count))
        nans.append(Int32(h.summary.nanCount))
        min.append(h.summary.min)
        max.append(h.summary.max)
        sum.append(h.summary.sum)
        maxError.append(h.maxError)
        model.append(Int16(h.kind.rawValue))
        bodies.append(ByteBuffer(bytes: s.bytes))
    }
}
