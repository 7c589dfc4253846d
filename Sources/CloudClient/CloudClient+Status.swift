public import FleetStatus
internal import NIOCore
internal import NIOHTTP1

extension CloudClient {
    /// `GET /v1/status`: a cloud node's `NodeStatus`, or an agent's `AgentStatus` (its loopback
    /// listener speaks the same route; it ignores the token).
    /// - Throws: `CloudClientError`: the refusal, `.transport`, or `.badAnswer` for a body that is
    ///   not that document.
    public func status<Document: Decodable & Sendable>(_ type: Document.Type) async throws(CloudClientError)
        -> Document
    {
        let answer = try await call(.GET, "/v1/status", maxBytes: 4 << 20)
        do {
            return try StatusJSON.decode(type, from: Array(answer.body.readableBytesView))
        } catch {
            throw CloudClientError(
                .badAnswer, "not a status document: \(error)", status: 200, url: baseURL + "/v1/status", cause: error)
        }
    }
}
