import Foundation
import Synchronization
import TestKit
import Testing

@testable import MQTT

/// The channel from libmosquitto's network thread to Swift: back-pressure holds the producer (a
/// thread, as the network thread is), `finish` and `stopWaiting` release it, the consumer parks
/// and is woken. No broker: the producers are threads of the test.
@Suite struct EventQueueTests {
    @Test func aFullQueueHoldsTheProducerUntilTheConsumerTakes() async throws {
        let queue = EventQueue(limit: 4)
        let pushed = produce(queue, 10)
        try await waitUntil("the producer waiting for room") { queue.waitingProducers == 1 }
        #expect(pushed.value == 4)
        var batch = [MQTTEvent]()
        var topics = [String]()
        while topics.count < 10 {
            #expect(await queue.take(into: &batch))
            #expect(batch.count <= 4, "a take never holds more than the limit")
            topics += batch.compactMap(\.topic)
        }
        #expect(topics == (0..<10).map { "t/\($0)" })
        try await waitUntil("the producer done") { pushed.value == 10 }
    }

    @Test func eventsThatAreNotMessagesNeverWait() async throws {
        let queue = EventQueue(limit: 1)
        queue.push(message(0))
        let pushed = Counter()
        // A full queue still takes the connection state: the consumer must see a disconnect at once.
        Thread {
            queue.push(.disconnected(nil))
            queue.push(.connected(sessionPresent: false))
            pushed.increment()
        }.start()
        try await waitUntil("both state events queued") { pushed.value == 1 }
        #expect(queue.waitingProducers == 0)
        var batch = [MQTTEvent]()
        #expect(await queue.take(into: &batch))
        #expect(batch.count == 3)
    }

    @Test func finishReleasesAWaitingProducerAndEndsAfterWhatIsQueued() async throws {
        let queue = EventQueue(limit: 2)
        let pushed = produce(queue, 5)
        try await waitUntil("the producer waiting for room") { queue.waitingProducers == 1 }
        queue.finish()
        try await waitUntil("the producer released") { pushed.value == 5 }
        var batch = [MQTTEvent]()
        #expect(await queue.take(into: &batch))
        #expect(batch.compactMap(\.topic) == ["t/0", "t/1"])  // queued before the end: delivered
        #expect(await queue.take(into: &batch) == false)  // pushed after it: dropped
        #expect(batch.isEmpty)
    }

    @Test func stopWaitingLetsTheProducerThroughAndLosesNothing() async throws {
        let queue = EventQueue(limit: 2)
        let pushed = produce(queue, 50)
        try await waitUntil("the producer waiting for room") { queue.waitingProducers == 1 }
        queue.stopWaiting()
        try await waitUntil("the producer through") { pushed.value == 50 }
        var batch = [MQTTEvent]()
        #expect(await queue.take(into: &batch))
        #expect(batch.compactMap(\.topic) == (0..<50).map { "t/\($0)" })
    }

    @Test func aParkedConsumerIsWokenByAnEventAndByTheEnd() async {
        let queue = EventQueue(limit: 8)
        let consumer = Task {
            var batch = [MQTTEvent]()
            let more = await queue.take(into: &batch)
            return (more, batch.count)
        }
        Thread { queue.push(.connected(sessionPresent: false)) }.start()
        let (more, count) = await consumer.value
        #expect(more && count == 1)
        let ending = Task {
            var batch = [MQTTEvent]()
            return await queue.take(into: &batch)
        }
        queue.finish()
        #expect(await ending.value == false)
    }

    /// Four producers race one consumer and a `finish` in the middle: nothing is delivered twice or
    /// out of a producer's order, every producer gets through, and the consumer sees the end.
    @Test func producersConsumerAndFinishRace() async throws {
        let queue = EventQueue(limit: 16)
        let producers = (0..<4).map { p in produce(queue, 1000, prefix: "p\(p)/") }
        var batch = [MQTTEvent]()
        var seen = [String: [Int]]()
        var total = 0
        while total < 2000, await queue.take(into: &batch) {
            for topic in batch.compactMap(\.topic) {
                let parts = topic.split(separator: "/")
                seen[String(parts[0]), default: []].append(Int(parts[1])!)
                total += 1
            }
        }
        queue.finish()
        try await waitUntil("every producer through") { producers.allSatisfy { $0.value == 1000 } }
        while await queue.take(into: &batch) {
            for topic in batch.compactMap(\.topic) {
                let parts = topic.split(separator: "/")
                seen[String(parts[0]), default: []].append(Int(parts[1])!)
            }
        }
        for (producer, numbers) in seen {
            #expect(numbers == Array(0..<numbers.count), "\(producer) out of order or repeated")
        }
        #expect(seen.values.map(\.count).reduce(0, +) >= 2000)
    }
}

/// A count shared with producer threads.
final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .sequentiallyConsistent) }
    var value: Int { count.load(ordering: .sequentiallyConsistent) }
}

/// A message event on topic `prefix` + `i`.
func message(_ i: Int, prefix: String = "t/") -> MQTTEvent {
    .message(
        MQTTMessage(topic: prefix + "\(i)", payload: Array("\(i)".utf8), qos: 1, retained: false, arrivalMillis: 0))
}

/// Starts a thread that pushes `count` messages, as libmosquitto's network thread would; the
/// counter says how many pushes have returned.
func produce(_ queue: EventQueue, _ count: Int, prefix: String = "t/") -> Counter {
    let pushed = Counter()
    Thread {
        for i in 0..<count {
            queue.push(message(i, prefix: prefix))
            pushed.increment()
        }
    }.start()
    return pushed
}

extension MQTTEvent {
    /// The topic of a message event.
    var topic: String? {
        if case .message(let m) = self { return m.topic }
        return nil
    }
}
