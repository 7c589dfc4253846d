import ArgumentParser
import Cloud
import Hummingbird
import Logging

#if canImport(Glibc)
import Glibc
#endif

@main
struct CloudCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alicedb-cloud",
        abstract: "ALICE-DB cloud node: receives segments from gateways, answers queries over HTTP.")

    @Option(name: .long, help: "The TOML configuration file (default: an embedded config for trying it on loopback).")
    var config: String?
    @Flag(name: .long, help: "Validate the configuration, print the resolved settings and exit.")
    var check = false
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
        let cfg: CloudConfig
        do {
            cfg = try config.map { try CloudConfig.load(path: $0) } ?? CloudConfig.parse(CloudConfig.defaultText, file: "(embedded default)")
        } catch {
            errorLine("alicedb-cloud: config error: \(error)")
            throw ExitCode(2)
        }
        if check {
            print(cfg.summary)
            print("configuration ok")
            return
        }
        var logger = Logger(label: "alicedb-cloud") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let store: any CloudStorage
        do {
            store = try await cfg.openStorage(logger: logger)
        } catch {
            errorLine("alicedb-cloud: storage error: \(error)")
            throw ExitCode(1)
        }
        logger.info("storage open", metadata: ["storage": "\(store.description)"])
        let node = CloudNode(config: cfg, store: store, logger: logger)
        let log = logger
        let onListening: @Sendable (Int) async -> Void = { port in
            // One line a script can wait for (the port may have been 0: chosen by the system).
            log.info("listening", metadata: ["address": "\(cfg.host):\(port)"])
            print("alicedb-cloud listening on \(cfg.host):\(port)")
            fflush(nil)
        }
        do {
            try await serve(node.application(onListening: onListening))
        } catch {
            // Unreadable TLS files, an address in use: one line, exit 1 (the databases close as usual).
            errorLine("alicedb-cloud: error: \((error as? CloudError)?.message ?? "\(error)")")
            await store.close()
            throw ExitCode(1)
        }
        await store.close()
        logger.info("alicedb-cloud stopped")
    }

    /// SIGTERM/SIGINT: stop accepting, finish what is in flight; then the databases are closed.
    func serve(_ app: some ApplicationProtocol) async throws {
        try await app.runService()
    }
}

func errorLine(_ s: String) {
    var bytes = Array((s + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress!, $0.count) }
}
