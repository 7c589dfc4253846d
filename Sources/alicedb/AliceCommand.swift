import AliceDB
import ArgumentParser
import CloudClient
import FleetStatus

#if canImport(Glibc)
    import Glibc
#endif

@main
struct AliceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alicedb",
        abstract: "ALICE-DB: a model-based time-series store for sensor data.",
        version: AliceDBVersion.string,
        subcommands: [
            ImportCommand.self, ExportCommand.self, GetCommand.self, ScanCommand.self, AggCommand.self,
            DownsampleCommand.self, StatsCommand.self, InspectCommand.self, VerifyCommand.self,
            SeriesCommand.self, CompactCommand.self, RetentionCommand.self, BenchCommand.self, QueryBenchCommand.self,
            StatusCommand.self,
        ])

    /// Errors become one clear line and an exit code, here and nowhere else.
    static func main() {
        // A file-size limit must surface as a write error (EFBIG), not kill the process.
        signal(SIGXFSZ, SIG_IGN)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as AliceDBError {
            Terminal.err("alicedb: error: \(error)")
            Glibc.exit(error.code == .invalidArgument ? 2 : 1)
        } catch let error as CloudClientError {
            Terminal.err("alicedb: error: \(error)")
            Glibc.exit(error.status == 400 || error.code == .invalidURL ? 2 : 1)
        } catch let error as VerifyFailed {
            Terminal.err("alicedb: verify: \(error.faults) fault(s) found")
            Glibc.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}

struct VerifyFailed: Error {
    var faults: Int
}

struct DatabaseArgument: ParsableArguments {
    @Option(name: .long, help: "The data directory.")
    var db: String

    /// A read-only open: works while a writer (the agent) runs, and sees its unflushed points.
    func openReadOnly() throws -> Database {
        try Database(path: db, options: DatabaseOptions(readOnly: true))
    }
}

/// Where a query goes: `--db DIR` (local, read-only) or `--cloud URL --token T [--gateway G]`.
struct SourceArgument: ParsableArguments {
    @Option(name: .long, help: "The data directory.")
    var db: String?
    @Option(name: .long, help: "Query a cloud node instead (its base URL, e.g. http://127.0.0.1:8470).")
    var cloud: String?
    @Option(name: .long, help: "The bearer token for --cloud (default: $ALICEDB_TOKEN).")
    var token: String?
    @Option(name: .long, help: "With --cloud: the gateway whose data to query (default: the token's own gateway).")
    var gateway: String?

    func validate() throws {
        if (db == nil) == (cloud == nil) { throw ValidationError("give either --db DIR or --cloud URL") }
        if cloud != nil && resolvedToken == nil { throw ValidationError("--cloud needs --token (or ALICEDB_TOKEN)") }
        if db != nil && (token != nil || gateway != nil) {
            throw ValidationError("--token and --gateway go with --cloud")
        }
    }

    var resolvedToken: String? { SourceArgument.token(token) }

    /// `--token`, else `$ALICEDB_TOKEN`, else nil (every command that takes `--cloud`).
    static func token(_ option: String?) -> String? { option ?? getenv("ALICEDB_TOKEN").map { String(cString: $0) } }

    func open() throws -> any QuerySource {
        if let cloud { return try CloudSource(base: cloud, token: resolvedToken ?? "", gateway: gateway) }
        return try Database(path: db ?? "", options: DatabaseOptions(readOnly: true))
    }
}

struct FormatArgument: ParsableArguments {
    @Option(name: .long, help: "Output format: table (default on a terminal), csv (default otherwise) or json.")
    var format: OutputFormat?

    var resolved: OutputFormat { format ?? (Terminal.stdoutIsTTY ? .table : .csv) }
}

struct RangeArgument: ParsableArguments {
    @Option(name: .long, help: "First timestamp (inclusive); default: the beginning.")
    var from: Int64?
    @Option(name: .long, help: "Last timestamp (inclusive); default: the end.")
    var to: Int64?

    var lower: Int64 { from ?? .min }
    var upper: Int64 { to ?? .max }
}
