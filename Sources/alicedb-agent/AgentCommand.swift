import Agent
import ArgumentParser
import FleetStatus
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The entry point: glibc's allocator is tuned before anything else runs. glibc fixes its arena
/// limit when a second thread first allocates, and `AgentCommand.run` already runs on a
/// concurrency-pool thread, too late (the soak then showed a second 5 MiB arena). The pages the
/// dynamic linker and the runtime's start touched go at once, and again after each start-up step
/// (`ProcessMemory.releaseStartupPages`): the agent's peak memory was its start-up's.
@main
enum AgentMain {
    static func main() async {
        ProcessMemory.tuneMalloc()
        ProcessMemory.releaseStartupPages()
        await AgentCommand.main()
    }
}

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alicedb-agent",
        abstract: "ALICE-DB gateway agent: MQTT sensor topics into verified model segments.",
        version: AliceDBVersion.string)

    @Option(name: .long, help: "The TOML configuration file (default: an embedded config for a local broker).")
    var config: String?
    @Flag(name: .long, help: "Validate the configuration, print the resolved settings and exit.")
    var check = false
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func load() throws -> AgentConfig {
        do {
            if let config { return try AgentConfig.load(path: config) }
            return try AgentConfig.parse(AgentConfig.defaultText, file: "(embedded default)")
        } catch {
            errorLine("alicedb-agent: config error: \(error)")
            throw ExitCode(2)
        }
    }

    func run() async throws {
        let cfg = try load()
        ProcessMemory.releaseStartupPages()
        if check {
            print(cfg.summary)
            print("configuration ok")
            return
        }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        var logger = Logger(label: "alicedb-agent") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        let agent: Agent
        do {
            agent = try Agent(config: cfg, logger: logger)
        } catch {
            errorLine("alicedb-agent: error: \(error)")
            throw ExitCode(1)
        }
        ProcessMemory.releaseStartupPages()
        logger.info("alicedb-agent starting", metadata: ["config": "\(cfg.source)", "storage": "\(cfg.storagePath)"])
        // SIGTERM/SIGINT: intake stops, points are flushed, the uplink gets its last try, the listener
        // closes; SIGHUP reloads the subscriptions from the same file.
        let path = config
        let host = cfg.http?.host ?? ""
        try await agent.run(
            signals: true,
            reload: {
                try path.map { try AgentConfig.load(path: $0) }
                    ?? AgentConfig.parse(AgentConfig.defaultText, file: "(embedded default)")
            },
            onListening: { port in
                // One line a script (or a test) can wait for: `listen` may have asked for port 0.
                print("alicedb-agent listening on \(host):\(port)")
                fflush(nil)
            })
    }
}

func errorLine(_ s: String) {
    var bytes = Array((s + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress!, $0.count) }
}
