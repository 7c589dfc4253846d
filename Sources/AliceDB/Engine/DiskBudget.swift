internal import AliceFormat
internal import Logging

/// `RetentionPolicy.onFull = .pause`: the segment files' budget when a writer pauses instead of
/// dropping. At the budget, retention deletes segments the uplink has acknowledged (down to 5 %
/// under it, so that intake does not stop and start with every flush); when that is not enough,
/// `full` holds writers back until the uplink's acknowledgements let retention free the room.
///
/// The budget is that policy's state and decisions; the engine runs retention when told to
/// (`Engine.checkBudget`, each maintenance).
struct DiskBudget {
    /// The segment files reached the budget and retention could not free enough room.
    private(set) var full = false
    /// The uplink acknowledged segments since retention last tried: it may free more now.
    private var acknowledgedSinceTry = false
    /// When retention last tried (monotonic ns).
    private var lastTry: UInt64 = 0

    /// Where retention stops deleting, and a paused writer resumes: 5 % under the budget.
    static func resume(_ limit: Int) -> Int { limit - limit / 20 }

    /// Whether the budget needs a look: the files are at it, or writers are paused.
    func concerns(bytes: Int, limit: Int) -> Bool { full || bytes >= limit }

    /// The uplink acknowledged segments (retention may free their room now).
    mutating func noteAcknowledged() { acknowledgedSinceTry = true }

    /// Whether retention should try to free room now: at most once a second, and while paused once
    /// acknowledgements came in since it last tried, or every 10 s regardless (an acknowledgement
    /// that lands between a try and the writes it raced with must not leave writers paused for
    /// good; seen in CI) (marked as tried).
    mutating func retentionDue() -> Bool {
        let now = FileIO.monotonicNanos()
        let since = now &- lastTry
        guard (!full || acknowledgedSinceTry || since >= 10_000_000_000) && since >= 1_000_000_000 else {
            return false
        }
        lastTry = now
        acknowledgedSinceTry = false
        return true
    }

    /// Pauses at the budget, resumes 5 % under it; logged when it changes.
    mutating func update(bytes: Int, limit: Int, outbox: Bool, logger: Logger) {
        let now = full ? bytes > DiskBudget.resume(limit) : bytes >= limit
        guard now != full else { return }
        full = now
        if now {
            logger.warning(
                "disk budget full: writes should pause until the uplink's acknowledgements free room",
                metadata: ["segment_bytes": "\(bytes)", "max_bytes": "\(limit)", "outbox": "\(outbox)"])
        } else {
            logger.warning(
                "disk budget has room again", metadata: ["segment_bytes": "\(bytes)", "max_bytes": "\(limit)"])
        }
    }
}
