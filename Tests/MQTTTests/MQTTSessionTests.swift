import AgentHarness
import Foundation
import Synchronization
import TestKit
import Testing

@testable import MQTT

/// `MQTTSession` against a real mosquitto on 127.0.0.1 and a free port: delivery in order,
/// retained messages and the status topic, reconnection after a broker restart, and `stop` while
/// back-pressure holds the network thread or while no broker is there.
@Suite(.serialized) struct MQTTSessionTests {
    @Test func deliversWhatIsPublishedInOrder() async throws {
        let broker = try Broker(extraConfig: subscribeLog)
        let o = options(broker, "order")
        let session = try MQTTSession(options: o, subscriptions: [("t/#", 1)])
        let received = Received.from(session)
        try session.start()
        try await waitUntil("the session connected") { received.connects == 1 }
        try await waitSubscribed(broker, o)
        try broker.publish("t/a", (0..<300).map { "\($0)" })
        try await waitUntil("300 messages") { received.messages.count == 300 }
        let messages = received.messages
        #expect(messages.map { String(decoding: $0.payload, as: UTF8.self) } == (0..<300).map { "\($0)" })
        #expect(messages.allSatisfy { $0.topic == "t/a" && $0.qos == 1 && !$0.retained && $0.arrivalMillis > 0 })
        session.stop()
        try await waitUntil("the events to end") { received.ended }
    }

    @Test func statusTopicSaysOnlineRetainedThenOffline() async throws {
        let broker = try Broker()
        var o = options(broker, "gw")
        o.protocolVersion = 5
        o.statusTopic = "gw/status"
        let gateway = try MQTTSession(options: o, subscriptions: [])
        try gateway.start()
        let watcher = try MQTTSession(options: options(broker, "watcher"), subscriptions: [("gw/status", 1)])
        let seen = Received.from(watcher)
        try watcher.start()
        // Whether the watcher subscribed before or after `online`: it gets it, live or retained.
        try await waitUntil("online on the status topic") { seen.payloads.contains("online") }
        gateway.stop()
        try await waitUntil("offline on the status topic") { seen.payloads.last == "offline" }
        // A late subscriber gets the retained state, flagged as retained.
        let late = try MQTTSession(options: options(broker, "late"), subscriptions: [("gw/status", 1)])
        let later = Received.from(late)
        try late.start()
        try await waitUntil("the retained status") { !later.messages.isEmpty }
        #expect(later.messages.map(\.retained) == [true])
        #expect(later.payloads == ["offline"])
        watcher.stop()
        late.stop()
    }

    @Test func reconnectsAndResubscribesAfterABrokerRestart() async throws {
        let broker = try Broker(extraConfig: subscribeLog)
        let o = options(broker, "restart")
        let session = try MQTTSession(options: o, subscriptions: [("t/+", 1)])
        let received = Received.from(session)
        try session.start()
        try await waitUntil("the session connected") { received.connects == 1 }
        try await waitSubscribed(broker, o)
        try broker.publish("t/before", ["1", "2"])
        try await waitUntil("the first messages") { received.messages.count == 2 }
        broker.stop()
        try await waitUntil("the disconnect") { received.disconnects >= 1 }
        try broker.start()
        try await waitUntil(timeout: .seconds(15), "the reconnect") { received.connects == 2 }
        try await waitSubscribed(broker, o, times: 2)  // one log across the restart
        try broker.publish("t/after", ["3"])
        try await waitUntil("a message through the new subscription") { received.messages.count == 3 }
        #expect(received.messages.last?.topic == "t/after")
        session.stop()
        try await waitUntil("the events to end") { received.ended }
    }

    /// Nobody takes the events: past `backlog` the network thread waits. `stop` must still return
    /// (it releases the thread) and end the events after what was queued.
    @Test func stopWhileBackPressureHoldsTheNetworkThread() async throws {
        // The broker logs every SUBSCRIBE: what is published after it reaches this session.
        let broker = try Broker(extraConfig: subscribeLog)
        var o = options(broker, "held")
        o.backlog = 8
        let session = try MQTTSession(options: o, subscriptions: [("t/#", 1)])
        try session.start()
        var events = session.events.makeAsyncIterator()
        guard case .connected = await events.next() else {
            Issue.record("the first event was not the connection")
            return
        }
        try await waitSubscribed(broker, o)
        try broker.publish("t/x", (0..<100).map { "\($0)" })
        try await waitUntil("the network thread waiting for room") { session.events.queue.waitingProducers == 1 }
        let stopped = Counter()
        Thread {
            session.stop()
            stopped.increment()
        }.start()
        try await waitUntil("stop() to return") { stopped.value == 1 }
        var payloads = [Int]()
        while let event = await events.next() {
            if case .message(let m) = event { payloads.append(Int(String(decoding: m.payload, as: UTF8.self))!) }
        }
        #expect(payloads.count >= 8 && payloads == Array(0..<payloads.count), "\(payloads)")
    }

    @Test func stopWhileNoBrokerAnswersReturnsAndEndsTheEvents() async throws {
        var o = MQTTOptions()
        o.port = Broker.freePort()  // nothing listens there
        o.clientID = "nobody-\(UUID().uuidString.prefix(6))"
        o.reconnectMin = 0.05
        o.reconnectMax = 0.2
        let session = try MQTTSession(options: o, subscriptions: [("t/#", 1)])
        let received = Received.from(session)
        try session.start()
        let stopped = Counter()
        Thread {
            session.stop()
            stopped.increment()
        }.start()
        try await waitUntil(timeout: .seconds(5), "stop() to return") { stopped.value == 1 }
        try await waitUntil("the events to end") { received.ended }
        #expect(received.connects == 0)
    }
}

/// Options for `broker` with a unique client ID and quick reconnects.
/// mosquitto.conf lines that make the broker log every SUBSCRIBE (`waitSubscribed`).
let subscribeLog = "log_type all"

/// Waits until the broker has logged `times` SUBSCRIBEs of the session: `.connected` comes before
/// the subscription is in place, and what is published before that does not reach the session.
func waitSubscribed(_ broker: Broker, _ o: MQTTOptions, times: Int = 1) async throws {
    try await waitUntil("the subscription") {
        broker.log.components(separatedBy: "Received SUBSCRIBE from \(o.clientID)").count > times
    }
}

func options(_ broker: Broker, _ name: String) -> MQTTOptions {
    var o = MQTTOptions()
    o.host = "127.0.0.1"
    o.port = broker.port
    o.clientID = "\(name)-\(UUID().uuidString.prefix(6))"
    o.reconnectMin = 0.1
    o.reconnectMax = 0.5
    return o
}

/// Everything a session delivers, gathered by a task of its own, for a test to wait on.
final class Received: Sendable {
    private let state = Mutex<(events: [MQTTEvent], ended: Bool)>(([], false))

    /// Starts gathering what `session` delivers.
    static func from(_ session: MQTTSession) -> Received {
        let received = Received()
        Task {
            for await event in session.events { received.state.withLock { $0.events.append(event) } }
            received.state.withLock { $0.ended = true }
        }
        return received
    }

    var events: [MQTTEvent] { state.withLock { $0.events } }

    var messages: [MQTTMessage] {
        state.withLock { s in
            s.events.compactMap {
                if case .message(let m) = $0 { return m }
                return nil
            }
        }
    }
    var payloads: [String] { messages.map { String(decoding: $0.payload, as: UTF8.self) } }
    var connects: Int {
        state.withLock { s in
            s.events.count {
                if case .connected = $0 { return true }
                return false
            }
        }
    }
    var disconnects: Int {
        state.withLock { s in
            s.events.count {
                if case .disconnected = $0 { return true }
                return false
            }
        }
    }
    var ended: Bool { state.withLock { $0.ended } }
}
