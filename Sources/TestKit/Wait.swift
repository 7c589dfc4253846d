import Foundation
import Synchronization

/// Waits until `condition` holds, checking it at once and then every `interval`, for at most `timeout`.
///
/// The one way tests wait for something another thread or process does: on `ContinuousClock`, with a
/// deadline, never a fixed sleep that is too short on a busy machine and too long on an idle one.
/// - Parameters:
///   - timeout: the longest wait, measured on `ContinuousClock`.
///   - what: what is awaited, as the error says it ("the agent connected to the broker").
///   - interval: the pause between two checks.
///   - condition: true once the awaited thing happened. An error it throws counts as "not yet" (a
///     server that is restarting refuses connections) and is reported if the deadline passes.
/// - Throws: `WaitTimeout` naming `what` when the deadline passes first; `CancellationError` when the
///   task is cancelled.
public func waitUntil(
    timeout: Duration = .seconds(10), _ what: String, interval: Duration = .milliseconds(20),
    isolation: isolated (any Actor)? = #isolation, _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let start = clock.now
    let deadline = start.advanced(by: timeout)
    var lastError: (any Error)?
    while true {
        do {
            if try await condition() { return }
            lastError = nil
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            lastError = error
        }
        let now = clock.now
        guard now < deadline else {
            throw WaitTimeout(what: what, waited: now - start, lastError: lastError.map { "\($0)" })
        }
        try await clock.sleep(until: min(now.advanced(by: interval), deadline))
    }
}

/// A wait whose deadline passed before its condition held.
public struct WaitTimeout: Error, CustomStringConvertible, Sendable {
    /// What was awaited.
    public var what: String
    /// How long it was awaited.
    public var waited: Duration
    /// The error the condition threw at its last check, if it threw.
    public var lastError: String?

    public var description: String {
        let rounded = (Self.seconds(waited) * 10).rounded() / 10
        return "timed out after \(rounded) s waiting for \(what)" + (lastError.map { " (last error: \($0))" } ?? "")
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}

/// Checks `condition` on a thread of its own until it holds, then runs `action` there at once.
///
/// For a test that must act in a narrow window of another process's work (kill it mid-upload): a
/// task on the cooperative pool can starve while parallel suites keep every core busy and see the
/// window only after it closed; a thread of its own is scheduled by the kernel like the process it
/// watches. The thread starts at once, before the caller's next await; `wait()` returns when it acted.
public final class ThreadWatch: Sendable {
    /// The outcome once the thread acted or gave up, and the task waiting for it.
    private final class State: Sendable {
        let mutex = Mutex<(result: Result<Void, WaitTimeout>?, waiter: CheckedContinuation<Void, any Error>?)>(
            (nil, nil))
    }
    private let state = State()

    /// - Parameters:
    ///   - timeout: the longest watch, measured on `ContinuousClock`.
    ///   - what: what is awaited, as the error says it.
    ///   - interval: the pause between two checks (the watch's polling interval, not a wait for time to pass).
    ///   - condition: true once the window opened.
    ///   - action: what to do in the window (not run when the deadline passes first).
    public init(
        timeout: Duration = .seconds(10), _ what: String, interval: Duration = .milliseconds(2),
        until condition: @escaping @Sendable () -> Bool, then action: @escaping @Sendable () -> Void
    ) {
        let thread = Thread { [state] in
            let clock = ContinuousClock()
            let start = clock.now
            var result = Result<Void, WaitTimeout>.success(())
            while !condition() {
                guard clock.now < start.advanced(by: timeout) else {
                    result = .failure(WaitTimeout(what: what, waited: clock.now - start))
                    break
                }
                Thread.sleep(forTimeInterval: WaitTimeout.seconds(interval))
            }
            if case .success = result { action() }
            let waiter = state.mutex.withLock { s in
                s.result = result
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(with: result.mapError { $0 as any Error })
        }
        thread.start()
    }

    /// Waits until the watch acted.
    /// - Throws: `WaitTimeout` when its deadline passed first.
    public func wait() async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            let done = state.mutex.withLock { s -> Result<Void, WaitTimeout>? in
                if let r = s.result { return r }
                s.waiter = c
                return nil
            }
            if let done { c.resume(with: done.mapError { $0 as any Error }) }
        }
    }
}

/// `ThreadWatch(...)` and its `wait()` in one call.
public func watchOnThread(
    timeout: Duration = .seconds(10), _ what: String, interval: Duration = .milliseconds(2),
    until condition: @escaping @Sendable () -> Bool, then action: @escaping @Sendable () -> Void
) async throws {
    try await ThreadWatch(timeout: timeout, what, interval: interval, until: condition, then: action).wait()
}
