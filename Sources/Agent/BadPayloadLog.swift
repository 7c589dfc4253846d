internal import AliceDB

/// Which bad payloads to log: at most one line per subscription per 10 s, so that a device
/// publishing garbage at a high rate cannot flood the journal; the next line says how many were
/// left out.
struct BadPayloadLog {
    static let intervalNanos: UInt64 = 10_000_000_000
    private var lastLog: [String: UInt64] = [:]
    private var suppressed: [String: Int] = [:]

    /// A bad payload of the subscription `filter`: nil when it goes unlogged (counted as
    /// suppressed), else the number suppressed since the last line logged.
    mutating func note(_ filter: String, now: UInt64 = FileIO.monotonicNanos()) -> Int? {
        if let last = lastLog[filter], now &- last < BadPayloadLog.intervalNanos {
            suppressed[filter, default: 0] += 1
            return nil
        }
        lastLog[filter] = now
        return suppressed.removeValue(forKey: filter) ?? 0
    }
}
