import AliceDB
import ArgumentParser

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a CSV file (header ts,value, integer timestamps), or one series per column with --ts-column.")

    @Argument(help: "The CSV file.")
    var file: String
    @OptionGroup var database: DatabaseArgument
    @Option(name: .long, help: "Series name (or, with --ts-column, the prefix SERIES.column).")
    var series: String?
    @Option(name: .long, help: "Absolute error bound in value units; 0 (default) is lossless.")
    var maxError: Double?
    @Option(name: .long, help: "Relative error bound in percent of each value.")
    var maxErrorPct: Double?
    @Option(name: .long, help: "Timestamps may be stored within ± this many ms of the file's (0, default: exact).")
    var timeTolerance: Int64?
    @Option(name: .long, help: "Multi-column form: the timestamp column; every other column becomes a series.")
    var tsColumn: String?
    @Option(name: .long, help: "Entropy coding of the imported series: compact (default, fewest bytes) or fast.")
    var profile: CodingProfile?
    @Option(name: .long, help: "MemTable capacity in points for the imported series.")
    var capacity: Int?
    @Flag(name: .long, help: "Skip malformed rows (reported) instead of stopping at the first.")
    var skipBad = false
    @Option(name: .long, help: "WAL sync: interval (200 ms group commit, default), every, or off.")
    var sync: String = "interval"

    func validate() throws {
        if tsColumn == nil && series == nil {
            throw ValidationError("--series is required (or --ts-column for several columns)")
        }
        if let e = maxError, !(e >= 0 && e.isFinite) {
            throw ValidationError("--max-error must be a finite number ≥ 0")
        }
        if let p = maxErrorPct, !(p >= 0 && p.isFinite) {
            throw ValidationError("--max-error-pct must be a finite number ≥ 0")
        }
        try validateTimeTolerance(timeTolerance)
        if !["interval", "every", "off"].contains(sync) {
            throw ValidationError("--sync must be interval, every or off")
        }
    }

    func run() throws {
        let policy: SyncPolicy = sync == "every" ? .everyWrite : sync == "off" ? .off : .interval(milliseconds: 200)
        let db = try Database(path: database.db, options: DatabaseOptions(sync: policy))
        let start = Clock.now
        let bound = ErrorBound(absolute: maxError ?? 0, relativePercent: maxErrorPct ?? 0)
        var created = Set<String>()
        // Series options are set before any point is written, so every segment carries the bound.
        func prepare(_ name: String) throws {
            guard !created.contains(name) else { return }
            let existing = db.series(named: name)
            if maxError != nil || maxErrorPct != nil || capacity != nil || profile != nil || timeTolerance != nil
                || existing == nil
            {
                try db.createSeries(
                    name,
                    options: SeriesOptions(
                        bound: (maxError != nil || maxErrorPct != nil) ? bound : existing?.options.bound ?? .lossless,
                        capacity: capacity ?? existing?.options.capacity,
                        profile: profile.map(SeriesOptions.stored) ?? existing?.options.profile,
                        timeTolerance: timeTolerance ?? existing?.options.timeTolerance))
            }
            created.insert(name)
        }
        if tsColumn == nil, let series { try prepare(series) }
        let showProgress = Terminal.stderrIsTTY
        let result: CSVImporter.Result
        do {
            result = try CSVImporter.run(
                db: db, path: file,
                options: .init(series: series, timestampColumn: tsColumn, skipBad: skipBad),
                prepare: prepare,
                progress: { done, total in
                    if showProgress && total > 0 {
                        Terminal.errInline("\rimporting \(file): \(done * 100 / total)%")
                    }
                })
        } catch {
            if showProgress { Terminal.errInline("\n") }
            try? db.close()
            throw error
        }
        if showProgress { Terminal.errInline("\r") }
        try db.close()
        let seconds = Clock.seconds(since: start)
        let stats = try Database(path: database.db, options: DatabaseOptions(readOnly: true)).stats()
        for p in result.problems { Terminal.err("skipped: \(p)") }
        if result.skippedRows > result.problems.count {
            Terminal.err("skipped \(result.skippedRows - result.problems.count) more malformed rows")
        }
        let rate = seconds > 0 ? Double(result.points) / seconds : 0
        print(
            "imported \(result.points) points into \(result.series.count == 1 ? result.series[0] : "\(result.series.count) series") in \(fixed(seconds, 2)) s (\(fixed(rate, 0)) points/s); database: \(stats.points) points, \(stats.bytes) bytes, \(fixed(stats.bytesPerPoint, 3)) bytes/point"
                + (result.skippedRows > 0 ? "; \(result.skippedRows) rows skipped" : ""))
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a series as CSV (ts,value) to stdout; values parse back to identical bits.")

    @OptionGroup var source: SourceArgument
    @Option(name: .long, help: "The series.")
    var series: String
    @OptionGroup var range: RangeArgument

    func run() throws {
        let db = try source.open()
        var out = StdoutBuffer()
        out.write("ts,value\n")
        try db.scan(series, from: range.lower, to: range.upper) { t, v in
            out.write(String(t))
            out.write(",")
            out.write(DoubleText.format(v))
            out.write("\n")
        }
        out.flush()
    }
}
