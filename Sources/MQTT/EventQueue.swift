internal import Glibc

/// The one channel from libmosquitto's network thread to Swift.
///
/// The network thread appends; the consumer takes everything queued at once. Two properties matter
/// on a small gateway:
/// - **Bounded**: past `limit` messages not yet taken, the network thread waits (on its own thread,
///   never a Swift concurrency thread), so a burst stays in the broker's queue and TCP, not here.
/// - **Batched wake-ups**: while messages keep coming, the consumer checks back every millisecond
///   instead of being woken per message (a wake-up costs more than handling a small message);
///   after 10 ms without messages it parks until the next event.
final class EventQueue: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var buffer: [MQTTEvent] = []
    private var messages = 0
    private var finished = false
    private var noWait = false
    private var blocked = 0
    private var waiter: UnsafeContinuation<Void, Never>?
    private var lastTake: UInt64 = 0
    let limit: Int

    init(limit: Int) {
        self.limit = max(1, limit)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        cond.deallocate()
    }

    /// Network thread: queues an event, waiting for room if it is a message.
    func push(_ event: MQTTEvent) {
        pthread_mutex_lock(mutex)
        if case .message = event {
            while messages >= limit && !finished && !noWait {
                blocked += 1
                pthread_cond_wait(cond, mutex)
                blocked -= 1
            }
            messages += 1
        }
        guard !finished else {
            pthread_mutex_unlock(mutex)
            return
        }
        buffer.append(event)
        let w = waiter
        waiter = nil
        pthread_mutex_unlock(mutex)
        w?.resume()
    }

    /// Producers waiting for room now: back-pressure holding the network thread (for tests and diagnostics).
    var waitingProducers: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return blocked
    }

    /// The network thread must not wait any more (it is being stopped); what it queues is still delivered.
    func stopWaiting() {
        pthread_mutex_lock(mutex)
        noWait = true
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    /// No more events: the consumer sees the end after what is queued; producers stop waiting.
    func finish() {
        pthread_mutex_lock(mutex)
        finished = true
        pthread_cond_broadcast(cond)
        let w = waiter
        waiter = nil
        pthread_mutex_unlock(mutex)
        w?.resume()
    }

    /// Consumer: replaces `batch` with everything queued; false once finished and empty.
    func take(into batch: inout [MQTTEvent]) async -> Bool {
        batch.removeAll(keepingCapacity: true)
        while true {
            pthread_mutex_lock(mutex)
            let now = EventQueue.monotonicNanos()
            if !buffer.isEmpty {
                swap(&batch, &buffer)
                messages = 0
                lastTake = now
                pthread_cond_broadcast(cond)
                pthread_mutex_unlock(mutex)
                return true
            }
            if finished {
                pthread_mutex_unlock(mutex)
                return false
            }
            if now &- lastTake < 10_000_000 {
                pthread_mutex_unlock(mutex)
                try? await Task.sleep(for: .milliseconds(1))
                continue
            }
            // The closure runs before suspending, on this thread: it stores the waiter, then unlocks.
            await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
                waiter = c
                pthread_mutex_unlock(mutex)
            }
        }
    }

    static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// The session's events, in order.
public struct MQTTEvents: AsyncSequence, Sendable {
    public typealias Element = MQTTEvent
    let queue: EventQueue

    public struct AsyncIterator: AsyncIteratorProtocol {
        let queue: EventQueue
        var batch: [MQTTEvent] = []
        var index = 0

        public mutating func next() async -> MQTTEvent? {
            if index == batch.count {
                guard await queue.take(into: &batch) else { return nil }
                index = 0
            }
            index += 1
            return batch[index - 1]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(queue: queue) }
}
