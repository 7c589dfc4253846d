import ArgumentParser
import Cloud
import FleetStatus
import Hummingbird
import Logging

#if canImport(Glibc)
    import Glibc
#endif

@main
struct CloudCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alicedb-cloud",
        abstract: "ALICE-DB cloud node: receives segments from gateways, answers queries over HTTP.",
        version: AliceDBVersion.string,
        subcommands: [Serve.self, Tokens.self],
        defaultSubcommand: Serve.self)
}

/// The options every subcommand shares.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The TOML configuration file (default: an embedded config for trying it on loopback).")
    var config: String?
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func load() throws -> CloudConfig {
        do {
            return try config.map { try CloudConfig.load(path: $0) }
                ?? CloudConfig.parse(CloudConfig.defaultText, file: "(embedded default)")
        } catch {
            errorLine("alicedb-cloud: config error: \(error)")
            throw ExitCode(2)
        }
    }

    func logger() -> Logger {
        var logger = Logger(label: "alicedb-cloud") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return logger
    }

    func makeStorage(_ cfg: CloudConfig, _ logger: Logger) throws -> any CloudStorage {
        do {
            return try cfg.makeStorage(logger: logger)
        } catch {
            errorLine("alicedb-cloud: storage error: \(error)")
            throw ExitCode(1)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the node (the default).")

    @OptionGroup var options: ConfigOptions
    @Flag(name: .long, help: "Validate the configuration, print the resolved settings and exit.")
    var check = false

    func run() async throws {
        var loaded = try options.load()
        if let names = getenv("ALICEDB_CLOUD_REFUSE_FEATURES") {
            loaded.refusedFeatures = Set(String(cString: names).split(separator: ",").map(String.init))
        }
        let cfg = loaded
        if check {
            print(cfg.summary)
            print("configuration ok")
            return
        }
        let logger = options.logger()
        let store = try options.makeStorage(cfg, logger)
        logger.info("storage", metadata: ["storage": "\(store.description)"])
        let node = CloudNode(config: cfg, store: store, logger: logger)
        let log = logger
        let onListening: @Sendable (Int) async -> Void = { port in
            // One line a script can wait for (the port may have been 0: chosen by the system).
            log.info("listening", metadata: ["address": "\(cfg.host):\(port)"])
            print("alicedb-cloud listening on \(cfg.host):\(port)")
            fflush(nil)
        }
        do {
            // SIGTERM/SIGINT: stop accepting, finish what is in flight; then the store is closed.
            try await node.run(onListening: onListening)
        } catch {
            // Unreadable TLS files, an unreachable store, an address in use: one line, exit 1.
            errorLine("alicedb-cloud: error: \((error as? CloudError)?.message ?? "\(error)")")
            throw ExitCode(1)
        }
        logger.info("alicedb-cloud stopped")
    }
}

/// Tokens kept in the shared PostgreSQL store: every node using it accepts them.
struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Manage the tokens kept in the shared store ([storage] kind = \"postgres\"); every node using it accepts them.",
        subcommands: [Add.self, Remove.self, List.self])

    enum Role: String, ExpressibleByArgument, CaseIterable {
        case gateway, reader
        var principal: Principal.Role { self == .gateway ? .gateway : .reader }
    }

    /// Opens the store, runs `body`, closes it; errors as one line and exit code 1.
    static func withStore(_ options: ConfigOptions, _ body: (any CloudStorage) async throws -> Void) async throws {
        let cfg = try options.load()
        guard cfg.postgres != nil else {
            errorLine(
                "alicedb-cloud: tokens are kept in the store only with [storage] kind = \"postgres\"; "
                    + "with the embedded store, list them as [[gateway]] and [[reader]] in the configuration")
            throw ExitCode(2)
        }
        var logger = options.logger()
        if options.logLevel == "info" { logger.logLevel = .warning }
        let store = try options.makeStorage(cfg, logger)
        do {
            try await store.withRunning { try await body(store) }
        } catch {
            errorLine("alicedb-cloud: \(error)")
            throw ExitCode(1)
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store a token for a gateway or reader and print it.")
        @OptionGroup var options: ConfigOptions
        @Option(name: .long, help: "Whose token: a gateway's name (what its uploads are filed under) or a reader's.")
        var name: String
        @Option(name: .long, help: "gateway (uploads, reads its own data) or reader (reads every gateway's).")
        var role: Role = .gateway
        @Option(name: .long, help: "The token (default: 32 random bytes, hex); at least 16 printable characters.")
        var token: String?

        func validate() throws {
            if role == .gateway && !CloudConfig.validGatewayName(name) {
                throw ValidationError("a gateway's name must be 1–64 letters, digits, '.', '_' or '-'")
            }
            if let token, token.utf8.count < 16 || !token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
                throw ValidationError("--token must be at least 16 printable ASCII characters without spaces")
            }
        }

        func run() async throws {
            var rng = SystemRandomNumberGenerator()
            let secret =
                token
                ?? (0..<32).map { _ in
                    let b = UInt8.random(in: 0...255, using: &rng)
                    return String(b >> 4, radix: 16) + String(b & 15, radix: 16)
                }.joined()
            try await Tokens.withStore(options) { store in
                try await store.addToken(secret, for: Principal(name: name, role: role.principal))
            }
            print(secret)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove every stored token of a gateway or reader (effective on every node within 5 s).")
        @OptionGroup var options: ConfigOptions
        @Option(name: .long, help: "Whose tokens.")
        var name: String
        @Option(name: .long, help: "gateway or reader.")
        var role: Role = .gateway

        func run() async throws {
            try await Tokens.withStore(options) { store in
                let n = try await store.removeTokens(of: Principal(name: name, role: role.principal))
                print("removed \(n) token\(n == 1 ? "" : "s") of \(role.rawValue) \(name)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List who has stored tokens (the tokens themselves are kept only as SHA-256).")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            try await Tokens.withStore(options) { store in
                let tokens = try await store.listTokens()
                print("role,name,created_ms")
                for t in tokens {
                    print("\(t.who.role == .gateway ? "gateway" : "reader"),\(t.who.name),\(t.createdMillis)")
                }
            }
        }
    }
}

func errorLine(_ s: String) {
    var bytes = Array((s + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress!, $0.count) }
}
