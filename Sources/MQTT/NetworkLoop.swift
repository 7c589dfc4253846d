internal import CMosquitto

#if canImport(Glibc)
    internal import Glibc
#endif

/// Drives one libmosquitto handle on a thread of its own, in place of `mosquitto_loop_start`.
///
/// libmosquitto's loop reads one packet per `select`, and in threaded mode wakes itself through a
/// socket pair for every acknowledgement it queues: about eight system calls per QoS 1 message.
/// This loop polls the socket, then reads packets until the socket has no more, then writes every
/// queued acknowledgement — the same library calls (`mosquitto_loop_read/write/misc`), a third
/// fewer system calls under load. It also owns reconnection: exponential back-off from a first delay
/// drawn in [min, 2·min] to a ceiling drawn in [max/2, max] (seconds), drawn anew after every
/// connection, so a fleet of gateways does not come back in lock-step after a broker restart.
///
/// Work other threads ask for (`perform`: a resubscribe, a forced reconnect) runs here too, between
/// two polls, so the connection's state is only ever changed on this thread.
///
/// Paused (`pause`), it reads nothing more, writes the acknowledgements it owes, leaves (`leave`)
/// and stays away until `resume`: what is published meanwhile waits at the broker (a persistent
/// session), and every message delivered before has been acknowledged (else the broker would send
/// it again: stored twice).
final class NetworkLoop: @unchecked Sendable {
    // `stopping`, `paused` and `commands` are the only state shared across threads; all under `mutex`.
    private let handle: OpaquePointer
    private let reconnect: (min: Double, max: Double)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var stopping = false
    private var commands: [@Sendable (OpaquePointer) -> Void] = []
    private var paused = false
    private var thread: pthread_t?

    init(handle: OpaquePointer, reconnect: (min: Double, max: Double)) {
        self.handle = handle
        self.reconnect = reconnect
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    private var isStopping: Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return stopping
    }

    /// Runs `command` on the network thread with the handle, within one poll interval (100 ms) while
    /// there is a connection; dropped when the connection is lost or the loop stops first (it was
    /// meant for that connection, and a new one subscribes afresh).
    func perform(_ command: @escaping @Sendable (OpaquePointer) -> Void) {
        pthread_mutex_lock(mutex)
        commands.append(command)
        pthread_mutex_unlock(mutex)
    }

    /// Runs the queued commands (`run: true`) or drops them.
    private func takeCommands(run: Bool) {
        pthread_mutex_lock(mutex)
        let queued = commands
        commands.removeAll()
        pthread_mutex_unlock(mutex)
        if run { for command in queued { command(handle) } }
    }

    private var isPaused: Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return paused
    }

    /// Stops reading, then disconnects once every owed acknowledgement is written; no reconnecting.
    func pause() {
        pthread_mutex_lock(mutex)
        paused = true
        pthread_mutex_unlock(mutex)
    }

    /// Connects again (at once) and reads as before.
    func resume() {
        pthread_mutex_lock(mutex)
        paused = false
        pthread_mutex_unlock(mutex)
    }

    /// Starts the thread; returns 0, or pthread_create's error number.
    func start() -> Int32 {
        let box = Unmanaged.passRetained(self)
        var t = pthread_t()
        let rc = pthread_create(
            &t, nil,
            { arg in
                let loop = Unmanaged<NetworkLoop>.fromOpaque(arg!).takeRetainedValue()
                loop.run()
                return nil
            }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            return rc
        }
        thread = t
        return 0
    }

    /// Asks the loop to finish: it writes what is queued (a DISCONNECT, a last status) for at most
    /// `grace` seconds, then returns; this waits for it.
    func stop(grace: Double = 2) {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_mutex_unlock(mutex)
        guard let t = thread else { return }
        thread = nil
        _ = grace
        pthread_join(t, nil)
    }

    private func delays() -> (first: Double, ceiling: Double) {
        let first = max(0.05, reconnect.min * Double.random(in: 1...2))
        return (first, max(first, reconnect.max * Double.random(in: 0.5...1)))
    }

    private func run() {
        var (delay, ceiling) = delays()
        var lost = false
        var stopDeadline: UInt64? = nil
        while true {
            if isStopping {
                let now = Self.monotonic()
                if stopDeadline == nil { stopDeadline = now + 2_000_000_000 }
                if now >= stopDeadline! || mosquitto_socket(handle) < 0 || !mosquitto_want_write(handle) { return }
            } else if isPaused {
                pausedStep()
                // Back from a pause: connect at once, with fresh back-off.
                lost = false
                (delay, ceiling) = delays()
                continue
            }
            let fd = mosquitto_socket(handle)
            if fd < 0 {
                takeCommands(run: false)
                if isStopping { return }
                if lost {
                    sleep(seconds: delay)
                    delay = min(delay * 2, ceiling)
                }
                lost = true
                if isStopping { return }
                _ = mosquitto_reconnect_async(handle)
                continue
            }
            var p = pollfd(
                fd: fd, events: Int16(POLLIN) | (mosquitto_want_write(handle) ? Int16(POLLOUT) : 0), revents: 0)
            let n = poll(&p, 1, 100)
            if n > 0 && p.revents & (Int16(POLLIN) | Int16(POLLERR) | Int16(POLLHUP)) != 0 {
                var rc: Int32 = 0
                var packets = 0
                repeat {
                    errno = 0
                    rc = mosquitto_loop_read(handle, 1)
                    packets += 1
                } while rc == MOSQ_ERR_SUCCESS.rawValue && errno != EAGAIN && errno != EWOULDBLOCK && packets < 4096
                    && mosquitto_socket(handle) >= 0
                if rc != MOSQ_ERR_SUCCESS.rawValue || mosquitto_socket(handle) < 0 { continue }
                if lost {
                    // Connected again: back-off starts over with fresh random delays.
                    lost = false
                    (delay, ceiling) = delays()
                }
            }
            takeCommands(run: !isStopping)
            if mosquitto_socket(handle) >= 0 && mosquitto_want_write(handle) {
                if mosquitto_loop_write(handle, 1) != MOSQ_ERR_SUCCESS.rawValue { continue }
            }
            if mosquitto_socket(handle) >= 0 { _ = mosquitto_loop_misc(handle) }
        }
    }

    /// One turn of the loop while paused: write the acknowledgements owed, then leave; once
    /// disconnected, wait. Unread packets stay unacknowledged: the broker sends them again later.
    private func pausedStep() {
        let fd = mosquitto_socket(handle)
        guard fd >= 0 else {
            sleep(seconds: 0.05)
            return
        }
        if mosquitto_want_write(handle) {
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&p, 1, 100) > 0 { _ = mosquitto_loop_write(handle, 1) }
            return
        }
        leave(fd)
    }

    /// Ends the connection so that the broker reads every acknowledgement written before.
    ///
    /// Not `mosquitto_disconnect`'s way: it closes the socket right after its DISCONNECT, and a
    /// socket closed with unread bytes in it (the PUBLISH packets the broker kept sending) sends a
    /// reset, upon which the broker drops what it had not read yet — the last acknowledgements, so
    /// those messages came again after `resume` and were stored twice (seen against mosquitto
    /// 2.0.11). Here: a FIN after the acknowledgements, then what the broker sends is read and
    /// thrown away (it is not acknowledged: sent again later) until it closes its end, for at most
    /// 2 s; only then is the socket closed. The broker sees the connection end without DISCONNECT,
    /// so it publishes the last will (`statusTopic`: offline) and keeps the persistent session.
    private func leave(_ fd: Int32) {
        // Marks the end as wanted (the disconnect callback says so, with no error); the DISCONNECT
        // it queues is never written, and is dropped at the next connect.
        _ = mosquitto_disconnect(handle)
        _ = shutdown(fd, Int32(SHUT_WR))
        var scratch = [UInt8](repeating: 0, count: 16 << 10)
        let end = Self.monotonic() + 2_000_000_000
        while Self.monotonic() < end && !isStopping {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, 100)
            if ready < 0 && errno != EINTR { break }
            guard ready > 0 else { continue }
            let n = scratch.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) { break }
        }
        // Nothing is written after the FIN (a write would raise SIGPIPE): libmosquitto's next
        // read finds the end, closes the socket and reports the disconnect.
        _ = shutdown(fd, Int32(SHUT_RDWR))
        errno = 0
        _ = mosquitto_loop_read(handle, 1)
    }

    /// Sleeps in short steps so that `stop` is never kept waiting for a long back-off.
    private func sleep(seconds: Double) {
        let end = Self.monotonic() + UInt64(seconds * 1e9)
        while !isStopping && Self.monotonic() < end {
            var ts = timespec(tv_sec: 0, tv_nsec: 50_000_000)
            nanosleep(&ts, nil)
        }
    }

    private static func monotonic() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
