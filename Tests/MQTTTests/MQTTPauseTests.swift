import AgentHarness
import Foundation
import TestKit
import Testing

@testable import MQTT

/// `MQTTSession.pause` and `resume` against a real mosquitto: what arrives before the pause is
/// delivered and acknowledged, what is published during it waits at the broker (a persistent
/// session), and after `resume` every message has come exactly once.
@Suite(.serialized) struct MQTTPauseTests {
    /// Publishes the numbers in `range` to `t/a` at QoS 1 from a task of its own.
    static func publish(port: Int, _ range: Range<Int>) -> Task<Void, any Error> {
        Task.detached {
            let load = try LoadPublisher(port: port)
            for i in range { try load.publish("t/a", Array("\(i)".utf8), qos: 1) }
            try load.drain()
        }
    }

    @Test func pauseHoldsMessagesAtTheBrokerAndResumeDeliversEachOnce() async throws {
        let broker = try Broker(extraConfig: subscribeLog)
        var o = options(broker, "pause")
        o.cleanSession = false
        let session = try MQTTSession(options: o, subscriptions: [("t/#", 1)])
        let received = Received.from(session)
        try session.start()
        try await waitUntil("the session connected") { received.connects == 1 }
        try await waitSubscribed(broker, o)
        // Paused in the middle of a stream.
        let publishing = Self.publish(port: broker.port, 0..<3000)
        try await waitUntil("the first messages") { received.messages.count >= 200 }
        session.pause()
        try await waitUntil("the pause's disconnect") { received.disconnects == 1 }
        try await publishing.value
        // Every message delivered before the connection ended was acknowledged to the broker.
        let before = received.messages.count
        try await waitUntil("the broker to log the acknowledgements") { Self.acks(broker, o) >= before }
        #expect(Self.acks(broker, o) == before)
        try broker.publish("t/a", (3000..<4000).map { "\($0)" })
        #expect(received.messages.count == before)
        #expect(received.connects == 1)
        session.resume()
        try await waitUntil("the reconnect") { received.connects == 2 }
        try await waitUntil(timeout: .seconds(20), "all 4000 messages") { Set(received.payloads).count == 4000 }
        let payloads = received.payloads.map { Int($0)! }
        #expect(payloads.count == 4000, "\(payloads.count - Set(payloads).count) delivered twice")
        #expect(payloads.sorted() == Array(0..<4000))
        session.stop()
        try await waitUntil("the events to end") { received.ended }
    }

    /// The PUBACKs the broker received from the session (it logs each with `log_type all`).
    static func acks(_ broker: Broker, _ o: MQTTOptions) -> Int {
        broker.log.components(separatedBy: "Received PUBACK from \(o.clientID) ").count - 1
    }

    @Test func pausesAndResumesOverAndOverLosingAndDoublingNothing() async throws {
        let broker = try Broker(extraConfig: subscribeLog)
        var o = options(broker, "flap")
        o.cleanSession = false
        let session = try MQTTSession(options: o, subscriptions: [("t/#", 1)])
        let received = Received.from(session)
        try session.start()
        try await waitUntil("the session connected") { received.connects == 1 }
        try await waitSubscribed(broker, o)
        let publishing = Self.publish(port: broker.port, 0..<5000)
        // Pause and resume again and again while messages stream in: once at once, then each
        // time after the pause has taken effect.
        session.pause()
        session.resume()
        for round in 1...4 {
            try await waitUntil("messages flowing") { received.messages.count >= round * 300 }
            session.pause()
            try await waitUntil("the pause's disconnect") { received.disconnects == round }
            session.resume()
            try await waitUntil("the reconnect") { received.connects == round + 1 }
        }
        try await publishing.value
        try await waitUntil(timeout: .seconds(20), "all 5000 messages") { Set(received.payloads).count == 5000 }
        let payloads = received.payloads.map { Int($0)! }
        #expect(payloads.count == 5000, "\(payloads.count - Set(payloads).count) delivered twice")
        session.stop()
        try await waitUntil("the events to end") { received.ended }
    }
}
