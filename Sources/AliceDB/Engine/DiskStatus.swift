internal import AliceFormat

/// Where a writer stands with its disk: a full disk, the WAL and the disk budget.
public struct DiskStatus: Sendable {
    /// The write that found the disk full, while it is (nil: writes go through). Meanwhile points
    /// wait in memory; a writer should stop taking more (`put` refuses them past twice the memory
    /// budget).
    public var diskFull: AliceDBError?
    /// Bytes of the WAL's files, written or buffered.
    public var walBytes = 0
    /// Bytes of points held in memory for want of disk (0 while the disk has room).
    public var heldBytes = 0
    /// Bytes of the segment files, and the disk budget over them (`RetentionPolicy.maxBytes`).
    public var segmentBytes = 0
    public var budgetBytes: Int?
    /// `RetentionPolicy.onFull = .pause`: the segment files reached the budget and retention could
    /// not free room without deleting segments the uplink has not acknowledged. The writer should
    /// stop taking points until this is false again.
    public var budgetFull = false

    public init() {}
}
