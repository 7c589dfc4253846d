import AliceDB
import ArgumentParser

/// A time tolerance as the tables show it: "exact", or "±25" (timestamp units, ms).
func timeToleranceText(_ t: Int64?) -> String { (t ?? 0) > 0 ? "±\(t ?? 0)" : "exact" }

/// `--time-tolerance`: 0...`SeriesOptions.maxTimeTolerance`.
func validateTimeTolerance(_ t: Int64?) throws {
    if let t, t < 0 || t > SeriesOptions.maxTimeTolerance {
        throw ValidationError("--time-tolerance must be 0...\(SeriesOptions.maxTimeTolerance) (milliseconds)")
    }
}

func modelMix(_ models: [String: Int], total: Int) -> String {
    guard total > 0 else { return "" }
    return models.sorted { $0.value > $1.value }.map {
        "\($0.key) \(fixed(100 * Double($0.value) / Double(total), 1))%"
    }
    .joined(separator: ", ")
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Points, bytes on disk, bytes/point and model mix, per series and in total.")
    @OptionGroup var source: SourceArgument
    @Option(name: .long, help: "Only this series.") var series: String?
    @OptionGroup var output: FormatArgument

    func run() throws {
        if source.cloud != nil { return try remote() }
        let db = try Database(path: source.db ?? "", options: DatabaseOptions(readOnly: true))
        let s = try db.stats(series: series)
        let lag = try db.uplinkLag()
        let format = output.resolved
        if format == .json {
            // One object: totals, then per series.
            var out = StdoutBuffer()
            func models(_ m: [String: Int]) -> String {
                "{" + m.sorted { $0.key < $1.key }.map { "\(JSON.quote($0.key)): \($0.value)" }.joined(separator: ", ")
                    + "}"
            }
            out.write(
                "{\n  \"points\": \(s.points),\n  \"bytes\": \(s.bytes),\n  \"bytes_per_point\": \(s.bytesPerPoint),\n")
            out.write(
                "  \"segments\": \(s.segments),\n  \"buffered_points\": \(s.bufferedPoints),\n  \"wal_bytes\": \(s.walBytes),\n"
            )
            out.write("  \"segment_files\": \(s.segmentFiles),\n  \"models\": \(models(s.models)),\n  \"series\": [")
            for (i, x) in s.series.enumerated() {
                out.write(i == 0 ? "\n" : ",\n")
                out.write("    {\"name\": \(JSON.quote(x.name)), \"points\": \(x.points), \"bytes\": \(x.bytes), ")
                out.write(
                    "\"bytes_per_point\": \(x.bytesPerPoint), \"segments\": \(x.segments), \"buffered_points\": \(x.bufferedPoints), "
                )
                out.write("\"max_error\": \(x.bound.absolute), \"max_error_pct\": \(x.bound.relativePercent), ")
                out.write("\"profile\": \(JSON.quote((x.profile ?? .compact).rawValue)), ")
                out.write("\"time_tolerance\": \(x.timeTolerance ?? 0), ")
                out.write(
                    "\"first_ts\": \(x.firstTimestamp.map(String.init) ?? "null"), \"last_ts\": \(x.lastTimestamp.map(String.init) ?? "null"), "
                )
                out.write("\"models\": \(models(x.models))}")
            }
            out.write(s.series.isEmpty ? "]" : "\n  ]")
            if let u = lag.state {
                out.write(
                    ",\n  \"uplink\": {\"lag_segments\": \(lag.segments), \"lag_bytes\": \(lag.bytes), \"lag_seconds\": \(lag.seconds), "
                )
                out.write(
                    "\"acknowledged_segments\": \(u.acknowledgedSegments), \"acknowledged_points\": \(u.acknowledgedPoints), "
                )
                out.write(
                    "\"acknowledged_bytes\": \(u.acknowledgedBytes), \"cursor\": \(JSON.quote(u.cursor.description))}")
            }
            out.write("\n}\n")
            out.flush()
            return
        }
        var t = Table([
            "series", "points", "buffered", "segments", "bytes", "bytes/point", "bound", "time_tolerance", "profile",
            "models",
        ])
        for x in s.series {
            t.add([
                .text(x.name), .int(Int64(x.points)), .int(Int64(x.bufferedPoints)), .int(Int64(x.segments)),
                .int(Int64(x.bytes)), .text(fixed(x.bytesPerPoint, 3)), .text(x.bound.description),
                .text(timeToleranceText(x.timeTolerance)), .text((x.profile ?? .compact).rawValue),
                .text(modelMix(x.models, total: x.points - x.bufferedPoints)),
            ])
        }
        if series == nil {
            t.add([
                .text("(all files)"), .int(Int64(s.points)), .int(Int64(s.bufferedPoints)), .int(Int64(s.segments)),
                .int(Int64(s.bytes)), .text(fixed(s.bytesPerPoint, 3)), .text(""), .text(""), .text(""),
                .text(modelMix(s.models, total: s.points - s.bufferedPoints)),
            ])
        }
        t.render(format)
        if let u = lag.state, format == .table {
            print(
                "uplink: \(lag.segments) segments (\(lag.bytes) bytes) waiting\(lag.segments > 0 ? ", \(fixed(lag.seconds, 0)) s behind" : ""); "
                    + "\(u.acknowledgedPoints) points in \(u.acknowledgedSegments) segments acknowledged")
        }
    }

    /// A cloud node's series of one gateway.
    func remote() throws {
        var t = Table(["series", "points", "segments", "bytes", "bytes/point", "bound", "first", "last"])
        for x in try source.open().series() where series == nil || x.name == series {
            t.add([
                .text(x.name), .int(Int64(x.points)), .int(Int64(x.segments)), .int(Int64(x.bytes)),
                .text(fixed(x.points > 0 ? Double(x.bytes) / Double(x.points) : 0, 3)), .text(x.bound.description),
                x.first.map { .int($0) } ?? .null, x.last.map { .int($0) } ?? .null,
            ])
        }
        t.render(output.resolved)
    }
}

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "The segments of a series: model, span, points, bytes, max error.")
    @OptionGroup var database: DatabaseArgument
    @Option(name: .long, help: "The series.") var series: String
    @OptionGroup var output: FormatArgument

    func run() throws {
        let segments = try database.openReadOnly().inspect(series)
        var t = Table([
            "model", "first_ts", "last_ts", "points", "bytes", "bytes_per_point", "timestamp_bytes", "value_bytes",
            "max_error", "bound", "max_time_error", "time_tolerance", "file", "offset", "profile",
        ])
        for s in segments {
            t.add([
                .text(s.model), .int(s.firstTimestamp), .int(s.lastTimestamp), .int(Int64(s.points)),
                .int(Int64(s.bytes)),
                .double(Double(s.bytes) / Double(s.points)), .int(Int64(s.timestampBytes)), .int(Int64(s.valueBytes)),
                .double(s.maxError), .text(s.bound.description), .int(s.maxTimeError),
                .text(timeToleranceText(s.timeTolerance)), .text(s.file), .int(Int64(s.offset)),
                .text(s.profile.rawValue),
            ])
        }
        t.render(output.resolved)
    }
}

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Re-decode every segment, check CRCs and bounds; exit 1 on any fault.")
    @OptionGroup var database: DatabaseArgument

    func run() throws {
        let report = try database.openReadOnly().verify()
        for f in report.faults { print("FAULT \(f)") }
        print(
            "verified \(report.segments) segments, \(report.points) points: \(report.ok ? "ok" : "\(report.faults.count) fault(s)")"
        )
        if !report.ok { throw VerifyFailed(faults: report.faults.count) }
    }
}

struct SeriesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "series", abstract: "List series, or create one / change its error bound with --series.")
    @OptionGroup var database: DatabaseArgument
    @Option(name: .long, help: "Create or change this series.") var series: String?
    @Option(name: .long, help: "Absolute error bound (0 = lossless).") var maxError: Double?
    @Option(name: .long, help: "Relative error bound in percent.") var maxErrorPct: Double?
    @Option(name: .long, help: "MemTable capacity in points.") var capacity: Int?
    @Option(name: .long, help: "Entropy coding: compact (fewest bytes) or fast.") var profile: CodingProfile?
    @Option(name: .long, help: "Timestamps may be stored within ± this many ms (0 = exact).") var timeTolerance: Int64?
    @OptionGroup var output: FormatArgument

    func validate() throws { try validateTimeTolerance(timeTolerance) }

    func run() throws {
        let db: Database
        if let series {
            db = try Database(path: database.db)
            let old = db.series(named: series)?.options
            try db.createSeries(
                series,
                options: SeriesOptions(
                    bound: ErrorBound(
                        absolute: maxError ?? old?.bound.absolute ?? 0,
                        relativePercent: maxErrorPct ?? old?.bound.relativePercent ?? 0),
                    capacity: capacity ?? old?.capacity,
                    profile: profile.map(SeriesOptions.stored) ?? old?.profile,
                    timeTolerance: timeTolerance ?? old?.timeTolerance))
        } else {
            db = try database.openReadOnly()
        }
        var t = Table(["id", "series", "bound", "time_tolerance", "capacity", "profile"])
        for s in db.listSeries() {
            t.add([
                .int(Int64(s.id)), .text(s.name), .text(s.options.bound.description),
                .text(timeToleranceText(s.options.timeTolerance)),
                s.options.capacity.map { .int(Int64($0)) } ?? .text("default"),
                .text((s.options.profile ?? .compact).rawValue),
            ])
        }
        if series != nil { try db.close() }
        t.render(output.resolved)
    }
}

struct CompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Merge small segment files; re-encode old fast-profile segments into the compact profile.")
    @OptionGroup var database: DatabaseArgument
    @Option(name: .long, help: "Files smaller than this many bytes are merged.") var smallBytes: Int = 4 << 20
    @Option(
        name: .long,
        help: "Re-encode fast-profile segments in files whose newest point is older than this timestamp.")
    var recompressOlderThan: Int64?
    @Option(
        name: .long,
        help: "Re-encode fast-profile segments older than this many milliseconds before now (epoch ms).")
    var recompressAfterMs: Int64?

    func run() throws {
        let db = try Database(path: database.db)
        var line = ""
        if recompressOlderThan != nil || recompressAfterMs != nil {
            let cutoff = min(
                recompressOlderThan ?? .max, recompressAfterMs.map { FileIO.wallMillis() &- $0 } ?? .max)
            let r = try db.recompress(olderThan: cutoff)
            line = "; recompressed \(r.segments) segments, \(r.bytesBefore) -> \(r.bytesAfter) bytes"
        }
        let merged = try db.compact(smallBytes: smallBytes)
        try db.close()
        print("merged \(merged) segment files" + line)
    }
}

struct RetentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention", abstract: "Delete old segments: by age (timestamp units) and/or by total bytes.")
    @OptionGroup var database: DatabaseArgument
    @Option(name: .long, help: "Delete segments whose newest point is older than this timestamp.") var olderThan: Int64?
    @Option(name: .long, help: "Delete segments older than this many milliseconds before now (timestamps in epoch ms).")
    var maxAgeMs: Int64?
    @Option(name: .long, help: "Delete the oldest segments until the segment files fit in this many bytes.")
    var maxBytes: Int?

    func run() throws {
        var cutoff = olderThan
        if let age = maxAgeMs {
            let now = FileIO.wallMillis()
            cutoff = max(cutoff ?? .min, now - age)
        }
        guard cutoff != nil || maxBytes != nil else {
            throw ValidationError("give --older-than, --max-age-ms or --max-bytes")
        }
        let db = try Database(path: database.db)
        let (segments, points) = try db.applyRetention(olderThan: cutoff, maxBytes: maxBytes)
        try db.close()
        print("retention deleted \(segments) segments (\(points) points)")
    }
}
