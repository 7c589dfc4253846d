public import AliceDB
internal import PostgresNIO
public import ReadAPI

/// The listings, read from the series' running totals that `PostgresIngest` keeps.
extension PostgresStorage {
    public func gateways() async throws -> [GatewaySummary] {
        let client = pool.client
        return try await pool.run("listing gateways") {
            var out = [GatewaySummary]()
            let rows = try await client.query(
                """
                SELECT g.gateway, g.last_upload_ms, count(s.series_key), coalesce(sum(s.points), 0)::int8, coalesce(sum(s.bytes), 0)::int8
                FROM alicedb_gateways g LEFT JOIN alicedb_series s ON s.gateway = g.gateway
                GROUP BY g.gateway, g.last_upload_ms ORDER BY g.gateway
                """)
            for try await (name, last, series, points, bytes) in rows.decode((String, Int64, Int64, Int64, Int64).self)
            {
                out.append(
                    GatewaySummary(
                        name: name, series: Int(series), points: Int(points), bytes: Int(bytes), lastUploadMillis: last)
                )
            }
            return out
        }
    }

    public func gatewayNames() async throws -> [String] {
        let client = pool.client
        return try await pool.run("listing gateways") {
            var out = [String]()
            for try await name in try await client.query("SELECT gateway FROM alicedb_gateways ORDER BY gateway")
                .decode(String.self)
            {
                out.append(name)
            }
            return out
        }
    }

    /// Whether `gateway` has uploaded (one keyed lookup, not the whole list).
    func hasGateway(_ gateway: String) async throws(AliceDBError) -> Bool {
        let client = pool.client
        return try await pool.run("looking up a gateway") {
            for try await _ in try await client.query("SELECT 1 FROM alicedb_gateways WHERE gateway = \(gateway)")
                .decode(Int32.self)
            {
                return true
            }
            return false
        }
    }

    public func seriesNames(_ gateway: String) async throws -> [String] {
        let client = pool.client
        return try await pool.run("listing series") {
            var out = [String]()
            let rows = try await client.query(
                "SELECT series FROM alicedb_series WHERE gateway = \(gateway) ORDER BY series")
            for try await name in rows.decode(String.self) { out.append(name) }
            return out
        }
    }

    public func seriesStats(_ gateway: String, series: String?) async throws -> [SeriesStats]? {
        let client = pool.client
        let rows: [SeriesStats] = try await pool.run("reading series totals") {
            var out = [SeriesStats]()
            let rows = try await client.query(
                """
                SELECT series, segments, points, bytes, first_ts, last_ts, abs_bound, rel_bound FROM alicedb_series
                WHERE gateway = \(gateway) AND (\(series)::text IS NULL OR series = \(series)) ORDER BY series
                """)
            for try await (name, segments, points, bytes, first, last, abs, rel) in rows.decode(
                (String, Int64, Int64, Int64, Int64?, Int64?, Double, Double).self)
            {
                out.append(
                    SeriesStats(
                        name: name, points: Int(points), bufferedPoints: 0, segments: Int(segments), bytes: Int(bytes),
                        bytesPerPoint: points > 0 ? Double(bytes) / Double(points) : 0, models: [:],
                        firstTimestamp: first, lastTimestamp: last,
                        bound: ErrorBound(absolute: abs, relativePercent: rel)))
            }
            return out
        }
        if rows.isEmpty {
            guard try await hasGateway(gateway) else { return nil }
            if let series { throw AliceDBError(.notFound, "unknown series '\(series)'") }
            return []
        }
        return rows
    }
}
