internal import AliceDB
public import FleetStatus
internal import Hummingbird
internal import ReadAPI
internal import Synchronization

extension CloudNode {
    /// `GET /v1/status` (any token; a gateway's sees itself only): the node's health on one screen,
    /// as `alicedb status --cloud` shows it. Answers 200 with the store's problem while the store is
    /// down (the gateways are then left out), so that the screen says why.
    func status(_ request: Request) async throws(CloudError) -> Response {
        let who = try await principal(request)
        let problem = await store.problem()
        var gateways = [GatewaySummary]()
        if problem == nil {
            gateways = try await CloudError.storage { try await store.gateways() }
            if who.role == .gateway { gateways = gateways.filter { $0.name == who.name } }
        }
        let c = counters.withLock { $0 }
        let elapsed = ContinuousClock.now - startedAt
        let status = NodeStatus(
            nowMs: FileIO.wallMillis(),
            uptimeSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18,
            storage: store.description, storageProblem: problem, batches: c.batches, segmentsStored: c.segmentsStored,
            segmentsDuplicate: c.segmentsDuplicate, segmentsRejected: c.segmentsRejected, unauthorized: c.unauthorized,
            rateLimited: c.rateLimited,
            gateways: gateways.map {
                .init(
                    name: $0.name, series: $0.series, points: $0.points, bytes: $0.bytes,
                    lastUploadMs: $0.lastUploadMillis ?? c.lastUpload[$0.name])
            })
        return Reply.json(StatusJSON.encode(status))
    }
}
