internal import AliceFormat

/// The engine's side of its disk: writes of its own that may find it full (housekeeping, the
/// budget's retention), the `pause` budget (`DiskBudget`), and the status a writer asks for.
extension Engine {
    /// Runs a write that may find the disk full.
    /// - Returns: false when it did (noted in `disk`); other errors are thrown.
    func tolerating(_ body: () throws(AliceDBError) -> Void) throws(AliceDBError) -> Bool {
        try disk.tolerating(walBuffered: writes.wal?.bufferedBytes ?? 0, body)
    }

    /// `onFull = .pause`, each maintenance (`DiskBudget`): at the budget, retention deletes
    /// segments the uplink has acknowledged; when that is not enough, writers are held back.
    func checkBudget() throws(AliceDBError) {
        guard let r = options.retention, r.onFull == .pause, let limit = r.maxBytes else { return }
        guard budget.concerns(bytes: store.totalBytes, limit: limit) else { return }
        // What is flushed may ship only once synced: at the budget, waiting for the next WAL file
        // deletion to sync it could keep intake paused for nothing.
        _ = try tolerating { () throws(AliceDBError) in try store.sync() }
        if upkeep.outbox != nil && budget.retentionDue() {
            _ = try tolerating { () throws(AliceDBError) in
                _ = try retain(olderThan: nil, maxBytes: DiskBudget.resume(limit), acknowledgedOnly: true)
            }
        }
        budget.update(bytes: store.totalBytes, limit: limit, outbox: upkeep.outbox != nil, logger: logger)
    }

    /// The disk's state, for `Database.diskStatus`.
    var diskStatus: DiskStatus {
        var s = DiskStatus()
        s.diskFull = disk.full
        s.walBytes = writes.wal?.totalBytes ?? 0
        s.heldBytes = disk.full == nil ? 0 : writes.memBytes + (writes.wal?.bufferedBytes ?? 0)
        s.segmentBytes = store.totalBytes
        s.budgetBytes = options.retention?.maxBytes
        s.budgetFull = budget.full
        return s
    }
}
