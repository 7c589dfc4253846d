import AgentHarness
import AliceDB
import Foundation
import TestKit
import Testing

/// The node as a service group: SIGTERM stops the listener, then the store flushes and closes.
@Suite struct CloudLifecycleTests {
    @Test func sigtermStopsTheListenerThenClosesTheStore() throws {
        let dir = TempDirectory()
        let (cloud, _) = try CloudFixture.node(.embedded, dir.path + "/cloud")
        let batches = try CloudFixture.batches(in: dir.path + "/gw", points: 1500)
        for b in batches {
            let r = try cloud.request("POST", "/v1/segments", token: CloudFixture.gatewayToken, body: b.body)
            #expect(r.status == 200, "\(r.body)")
        }
        // A writer keeps a WAL file while it is open; closing the database removes it.
        let gateway = cloud.data + "/gateways/gw-1"
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: gateway + "/wal")).isEmpty)
        #expect(cloud.terminate() == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: gateway + "/wal").isEmpty)
        // Closed, not abandoned: a new writer takes the directory and finds every point.
        let db = try Database(path: gateway)
        #expect(try db.stats().points == 2 * 1500)  // two series of 1 500 points each
        try db.close()
    }
}
