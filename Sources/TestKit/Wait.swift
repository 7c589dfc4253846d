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
        let seconds = Double(waited.components.seconds) + Double(waited.components.attoseconds) * 1e-18
        let rounded = (seconds * 10).rounded() / 10
        return "timed out after \(rounded) s waiting for \(what)" + (lastError.map { " (last error: \($0))" } ?? "")
    }
}
