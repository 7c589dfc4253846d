import Foundation

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
/// watches.
/// - Parameters:
///   - timeout: the longest watch, measured on `ContinuousClock`.
///   - what: what is awaited, as the error says it.
///   - interval: the pause between two checks (the watch's polling interval, not a wait for time to pass).
///   - condition: true once the window opened.
///   - action: what to do in the window.
/// - Throws: `WaitTimeout` naming `what` when the deadline passes first (then `action` does not run).
public func watchOnThread(
    timeout: Duration = .seconds(10), _ what: String, interval: Duration = .milliseconds(2),
    until condition: @escaping @Sendable () -> Bool, then action: @escaping @Sendable () -> Void
) async throws {
    try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
        let thread = Thread {
            let clock = ContinuousClock()
            let start = clock.now
            while !condition() {
                guard clock.now < start.advanced(by: timeout) else {
                    done.resume(throwing: WaitTimeout(what: what, waited: clock.now - start))
                    return
                }
                Thread.sleep(forTimeInterval: WaitTimeout.seconds(interval))
            }
            action()
            done.resume()
        }
        thread.start()
    }
}
