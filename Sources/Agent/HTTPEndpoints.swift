internal import NIOHTTP1

/// What the HTTP listener serves, as three questions to whoever runs it (the agent, see
/// `Agent.endpoints`): the listener and its handlers then know HTTP and nothing of the agent.
struct HTTPEndpoints: Sendable {
    /// Why the gateway is not healthy (nil: it is), for `/healthz`.
    var problem: @Sendable () async -> String?
    /// The Prometheus text of `/metrics`.
    var metrics: @Sendable () async -> String
    /// The JSON of `/v1/status`.
    var status: @Sendable () async -> String

    /// Status, content type and body for a request.
    func answer(_ head: HTTPRequestHead) async -> (HTTPResponseStatus, String, String) {
        guard head.method == .GET || head.method == .HEAD else {
            return (.methodNotAllowed, "text/plain", "GET only\n")
        }
        switch head.uri.split(separator: "?").first.map(String.init) ?? "/" {
        case "/healthz":
            if let problem = await problem() { return (.serviceUnavailable, "text/plain", problem + "\n") }
            return (.ok, "text/plain", "ok\n")
        case "/metrics":
            return (.ok, "text/plain; version=0.0.4", await metrics())
        case "/v1/status":
            return (.ok, "application/json", await status())
        default:
            return (.notFound, "text/plain", "try /healthz, /metrics or /v1/status\n")
        }
    }
}
