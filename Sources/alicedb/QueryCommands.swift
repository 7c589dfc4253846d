import AliceDB
public import ArgumentParser

extension Aggregation: ExpressibleByArgument {}
extension CodingProfile: ExpressibleByArgument {}

struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "The value stored at exactly one timestamp (exit 1 if there is no sample there).")
    @OptionGroup var source: SourceArgument
    @Option(name: .long, help: "The series.") var series: String
    @Option(name: .long, help: "The timestamp.") var at: Int64
    @OptionGroup var output: FormatArgument

    func run() throws {
        let db = try source.open()
        guard let v = try db.get(series, at: at) else {
            Terminal.err("alicedb: no sample of \(series) at \(at)")
            throw ExitCode(1)
        }
        var t = Table(["ts", "value"])
        t.add([.int(at), .double(v)])
        t.render(output.resolved)
    }
}

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scan", abstract: "The points in a time range.")
    @OptionGroup var source: SourceArgument
    @Option(name: .long, help: "The series.") var series: String
    @OptionGroup var range: RangeArgument
    @Option(name: .long, help: "At most this many points.") var limit: Int?
    @OptionGroup var output: FormatArgument

    func run() throws {
        let db = try source.open()
        var t = Table(["ts", "value"])
        let limit = self.limit ?? .max
        try db.scan(series, from: range.lower, to: range.upper) { ts, v in
            if t.rows.count < limit { t.add([.int(ts), .double(v)]) }
        }
        t.render(output.resolved)
    }
}

/// The aggregation columns of agg.
func aggregateCells(_ r: AggregateRow, _ fns: [Aggregation]) -> [Cell] {
    fns.map { f in
        if f == .count { return .int(Int64(r.count)) }
        return r.value(f).map(Cell.double) ?? .null
    }
}

struct AggCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agg",
        abstract: "count, sum, avg, min, max over a range (exact from segment summaries where whole).")
    @OptionGroup var source: SourceArgument
    @Option(name: .long, help: "The series.") var series: String
    @OptionGroup var range: RangeArgument
    @Option(name: .long, help: "One aggregation (count|sum|avg|min|max); default: all.") var fn: Aggregation?
    @OptionGroup var output: FormatArgument

    func run() throws {
        let db = try source.open()
        let r = try db.aggregate(series, from: range.lower, to: range.upper)
        let fns = fn.map { [$0] } ?? Aggregation.allCases
        var t = Table(fns.map(\.rawValue))
        t.add(aggregateCells(r, fns))
        t.render(output.resolved)
    }
}

struct DownsampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "downsample", abstract: "One aggregate per fixed-width time bucket.")
    @OptionGroup var source: SourceArgument
    @Option(name: .long, help: "The series.") var series: String
    @OptionGroup var range: RangeArgument
    @Option(name: .long, help: "Bucket width in timestamp units.") var interval: Int64
    @Option(name: .long, help: "The aggregation (count|sum|avg|min|max); default: avg.") var fn: Aggregation = .avg
    @OptionGroup var output: FormatArgument

    func validate() throws {
        if interval <= 0 { throw ValidationError("--interval must be positive") }
    }

    func run() throws {
        let db = try source.open()
        var t = Table(["ts", fn.rawValue])
        for (start, v) in try db.downsample(series, from: range.from, to: range.upper, interval: interval, fn: fn) {
            t.add([.int(start), fn == .count ? v.map { .int(Int64($0)) } ?? .null : v.map(Cell.double) ?? .null])
        }
        t.render(output.resolved)
    }
}
