import AgentHarness
import Foundation
import Synchronization
import TestKit
import Testing

@testable import MQTT

/// What `MQTTSession` tells and offers for liveness, against a real mosquitto: the CONNACK
/// session-present flag, the SUBACK of every SUBSCRIBE (refusals included), and a resubscribe and a
/// reconnect on the running session.
@Suite(.serialized) struct MQTTSessionLivenessTests {
    @Test(arguments: [4, 5]) func sessionPresentOnlyWhenTheBrokerKeptTheSession(protocolVersion: Int) async throws {
        let broker = try Broker()
        var o = options(broker, "present")
        o.cleanSession = false
        o.protocolVersion = protocolVersion
        let first = try MQTTSession(options: o, subscriptions: [("t/#", 1)])
        let before = Received.from(first)
        try first.start()
        try await waitUntil("the first session connected") { before.connects == 1 }
        #expect(before.sessionPresent == [false])
        first.stop()
        let second = try MQTTSession(options: o, subscriptions: [("t/#", 1)])
        let after = Received.from(second)
        try second.start()
        try await waitUntil("the second session connected") { after.connects == 1 }
        if protocolVersion == 5 {
            withKnownIssue(
                "libmosquitto 2.0's asynchronous connect sends no session expiry interval: an MQTT 5 session ends with its connection"
            ) { #expect(after.sessionPresent == [true]) }
        } else {
            #expect(after.sessionPresent == [true])
        }
        second.stop()
    }

    @Test func resubscribeSendsTheSubscriptionAgainOnTheSameConnection() async throws {
        let broker = try Broker(extraConfig: subscribeLog)
        let o = options(broker, "resub")
        let session = try MQTTSession(options: o, subscriptions: [("t/#", 1), ("u/+", 0)])
        let received = Received.from(session)
        try session.start()
        try await waitSubscribed(broker, o, times: 2)  // one SUBSCRIBE per filter
        #expect(session.resubscribe("u/+"))
        #expect(!session.resubscribe("not/subscribed"))
        try await waitSubscribed(broker, o, times: 3)
        try await waitUntil("three SUBACKs") { received.subscribed.count == 3 }
        #expect(Set(received.subscribed.map(\.filter)) == ["t/#", "u/+"])
        #expect(received.subscribed.last?.filter == "u/+" && received.subscribed.last?.grantedQoS == 0)
        #expect(received.connects == 1 && received.disconnects == 0)
        try broker.publish("u/x", ["after"])
        try await waitUntil("a message through the renewed subscription") { received.payloads == ["after"] }
        session.stop()
    }

    @Test func reconnectRenewsTheConnectionAndItsSubscriptions() async throws {
        let broker = try Broker(extraConfig: subscribeLog)
        let o = options(broker, "renew")
        let session = try MQTTSession(options: o, subscriptions: [("t/#", 1)])
        let received = Received.from(session)
        try session.start()
        try await waitSubscribed(broker, o)
        session.reconnect()
        try await waitUntil("the connection renewed") { received.connects == 2 }
        #expect(received.disconnects == 1)
        try await waitSubscribed(broker, o, times: 2)
        try broker.publish("t/x", ["1"])
        try await waitUntil("a message on the new connection") { received.payloads == ["1"] }
        session.stop()
    }

    /// mosquitto's dynamic-security plugin refuses the SUBSCRIBE (SUBACK 0x80, MQTT 5: 0x87), and
    /// the session says so instead of waiting in silence.
    @Test(arguments: [4, 5]) func aRefusedSubscriptionIsReported(protocolVersion: Int) async throws {
        let broker = try Broker()
        try broker.reconfigure(extraConfig: try broker.dynamicSecurityConfig(subscribe: false))
        broker.stop()
        try broker.start()
        var o = options(broker, "refused")
        o.protocolVersion = protocolVersion
        let session = try MQTTSession(options: o, subscriptions: [("t/#", 1)])
        let received = Received.from(session)
        try session.start()
        try await waitUntil("the SUBACK") { received.subscribed.count == 1 }
        #expect(received.subscribed.first?.grantedQoS == nil)
        try broker.setDefaultSubscribeAccess(true)
        session.resubscribe("t/#")
        try await waitUntil("the second SUBACK") { received.subscribed.count == 2 }
        #expect(received.subscribed.last?.grantedQoS == 1)
        #expect(received.connects == 1, "the rule change left the connection alone")
        session.stop()
    }
}

extension Received {
    /// The `sessionPresent` flag of every connection, in order.
    var sessionPresent: [Bool] {
        events.compactMap {
            if case .connected(let present) = $0 { return present }
            return nil
        }
    }

    /// Every SUBACK, in order.
    var subscribed: [(filter: String, grantedQoS: Int?)] {
        events.compactMap {
            if case .subscribed(let filter, let qos) = $0 { return (filter, qos) }
            return nil
        }
    }
}
