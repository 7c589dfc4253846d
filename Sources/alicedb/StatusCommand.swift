import ArgumentParser
import CloudClient
import FleetStatus

#if canImport(Glibc)
    import Glibc
#endif

/// `alicedb status`: a running agent's health on one screen (broker, subscriptions, MemTables, WAL,
/// disk, uplink), or with `--cloud` a node's; `--json` prints the document itself.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "A running agent's status (broker, subscriptions, storage, uplink), or a cloud node's with --cloud.")
    @Option(name: .long, help: "The agent's HTTP listener ([http] listen).")
    var agent = "http://127.0.0.1:9464"
    @Option(name: .long, help: "Show a cloud node's status instead (its base URL).")
    var cloud: String?
    @Option(name: .long, help: "The bearer token for --cloud (default: $ALICEDB_TOKEN).")
    var token: String?
    @Flag(name: .long, help: "Print the status document as JSON.")
    var json = false

    func validate() throws {
        if cloud != nil && resolvedToken == nil { throw ValidationError("--cloud needs --token (or ALICEDB_TOKEN)") }
        if cloud == nil && token != nil { throw ValidationError("--token goes with --cloud") }
    }

    var resolvedToken: String? { SourceArgument.token(token) }

    func run() throws {
        let base = cloud ?? (agent.contains("://") ? agent : "http://" + agent)
        // The agent's listener takes no token; the client sends one all the same.
        let client = try CloudClient(url: base, token: resolvedToken ?? "-", timeout: .seconds(10))
        let text: String
        if cloud != nil {
            let s = try blocking { try await client.status(NodeStatus.self) }
            text = json ? StatusJSON.encode(s) : StatusText.render(s, source: base)
        } else {
            let s: AgentStatus
            do { s = try blocking { try await client.status(AgentStatus.self) } } catch let e as CloudClientError
                where e.code == .transport
            {
                throw CloudClientError(
                    .transport, "no agent answers at \(base) (is it running, and is [http] listen there?)",
                    url: e.url, cause: e.cause)
            }
            text = json ? StatusJSON.encode(s) : StatusText.render(s, source: base)
        }
        var out = StdoutBuffer()
        out.write(text)
        out.flush()
    }
}
