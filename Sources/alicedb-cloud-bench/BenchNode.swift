import AgentHarness
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The `alicedb-cloud` under test, as every phase uses it: started with a bench configuration,
/// and uploaded to as a gateway's uplink would.
enum BenchNode {
    /// Bytes per uploaded batch: what the agent's uplink asks its outbox for (about 1 MiB).
    static let batchBytes = 1 << 20

    /// The executable `name` next to this one, else the build's.
    static func executable(_ name: String) -> String {
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let p = me.appendingPathComponent(name).path
        return FileManager.default.isExecutableFile(atPath: p) ? p : BuiltExecutable.path(name)
    }

    /// A cloud node with `n` gateways `gw-0…` (tokens `bench-token-K`) and no rate limit to speak of.
    /// With `postgres`, the node keeps everything in that database (pool of 16 connections).
    static func start(_ dir: String, gateways n: Int, postgres: String? = nil) throws -> CloudProcess {
        try CloudProcess(directory: dir, executable: executable("alicedb-cloud")) { data, listen in
            var s = "[server]\nlisten = \"\(listen)\"\nrate_limit = 1000000\nmax_body = \"16MiB\"\n[storage]\n"
            s +=
                postgres.map { "kind = \"postgres\"\nurl = \"\($0)\"\npool_size = 16\nquery_timeout = 60\n" }
                ?? "path = \"\(data)\"\n"
            for k in 0..<n { s += "[[gateway]]\nname = \"gw-\(k)\"\ntoken = \"bench-token-\(k)\"\n" }
            s += "[[reader]]\nname = \"bench\"\ntoken = \"bench-reader-token\"\n"
            return s
        }
    }

    /// One segment batch uploaded as gateway `k`; the segments stored and the points they hold.
    static func post(_ client: HTTPClient, _ url: String, gateway k: Int, _ body: [UInt8]) async throws -> (
        stored: Int, points: Int
    ) {
        var request = HTTPClientRequest(url: url + "/v1/segments")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer bench-token-\(k)")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(120))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status == .ok else { throw HarnessError("cloud node answered \(response.status.code): \(text)") }
        let json = (try JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
        return (json?["stored"] as? Int ?? 0, json?["points"] as? Int ?? 0)
    }
}
