internal import AliceFormat
internal import Logging

/// A full disk (`ENOSPC`, a quota, a file-size limit) while the engine writes: nothing accepted is
/// lost. Points stay in their MemTables and their WAL records in the WAL's buffer; series created
/// meanwhile stay in the catalog in memory. The engine stops trying to flush, and retries at most
/// once a second (`maintenance`): the catalog first, then the WAL's buffer, then the flushes that
/// waited. A write cut short leaves no partial record or frame behind (`WAL.flushBuffer` and
/// `SegmentStore.append` truncate back to the last whole one).
extension Engine {
    /// What waits for the disk.
    struct DiskState {
        /// The write that found the disk full (nil: writes go through).
        var full: AliceDBError?
        /// When it was first found full, and when a write was last tried (monotonic ns).
        var since: UInt64 = 0
        var lastTry: UInt64 = 0
        /// Series were created or changed while the disk was full: `catalog.json` lacks them.
        var catalogDirty = false
    }

    /// Points held in memory for want of disk (MemTables and the WAL's buffer) may not pass twice
    /// the memory budget: past it `put` refuses more, storing nothing.
    var holdLimit: Int { 2 * mem.budget }

    /// Notes that the disk is full (logged once, until there is room again).
    func noteDiskFull(_ error: AliceDBError) {
        let now = FileIO.monotonicNanos()
        if disk.full == nil {
            disk.since = now
            logger.error(
                "the disk is full; points wait in memory until there is room",
                metadata: ["error": "\(error)", "wal_buffered_bytes": "\(wal?.bufferedBytes ?? 0)"])
        }
        disk.full = error
        disk.lastTry = now
    }

    /// Runs a write that may find the disk full.
    /// - Returns: false when it did (noted in `disk`); other errors are thrown.
    func tolerating(_ body: () throws(AliceDBError) -> Void) throws(AliceDBError) -> Bool {
        do {
            try body()
            return true
        } catch  where error.code == .diskFull {
            noteDiskFull(error)
            return false
        }
    }

    /// - Throws: `.diskFull` when the disk is full and what waits in memory for it is at `holdLimit`.
    func checkRoomToHold(points: Int) throws(AliceDBError) {
        guard let full = disk.full, let wal else { return }
        let held = memBytes + wal.bufferedBytes
        // A WAL record takes 16 bytes a point.
        guard held + 16 * points > holdLimit else { return }
        throw AliceDBError(
            .diskFull,
            "the disk is full and \(held) bytes of points wait in memory for it (at most \(holdLimit)); "
                + "refusing \(points) more", path: full.path, errno: full.errno, cause: full)
    }

    /// Writes the catalog; a full disk keeps it in memory, saved before anything that names its
    /// series is written (`saveCatalogIfDirty`).
    func saveCatalog() throws(AliceDBError) {
        if disk.full != nil {
            disk.catalogDirty = true
            return
        }
        do { try catalog.save() } catch  where error.code == .diskFull {
            disk.catalogDirty = true
            noteDiskFull(error)
        }
    }

    func saveCatalogIfDirty() throws(AliceDBError) {
        guard disk.catalogDirty else { return }
        try catalog.save()
        disk.catalogDirty = false
    }

    /// Hands the WAL's buffer to the OS (and fsyncs it with `sync`). A full disk is noted, not
    /// thrown: the records stay buffered for `retryDisk`.
    func writeWAL(sync: Bool) throws(AliceDBError) {
        guard let wal, disk.full == nil else { return }
        _ = try tolerating { () throws(AliceDBError) in
            try saveCatalogIfDirty()
            if sync { try wal.sync() } else { try wal.flushBuffer() }
        }
    }

    /// Writes and fsyncs the WAL, or throws (a full disk too, noted as well).
    func syncWAL() throws(AliceDBError) {
        guard let wal else { return }
        do throws(AliceDBError) {
            try saveCatalogIfDirty()
            try wal.sync()
        } catch {
            if error.code == .diskFull { noteDiskFull(error) }
            throw error
        }
    }

    /// While the disk is full, tries again what waits for it (at most once a second unless
    /// `force`): the catalog, the WAL's buffer, then the flushes that were held back. When all of
    /// it goes through, the disk has room again.
    func retryDisk(force: Bool = false) throws(AliceDBError) {
        guard disk.full != nil, let wal, !options.readOnly else { return }
        let now = FileIO.monotonicNanos()
        guard force || now &- disk.lastTry >= 1_000_000_000 else { return }
        disk.lastTry = now
        let ok = try tolerating { () throws(AliceDBError) in
            try saveCatalogIfDirty()
            try wal.flushBuffer()
            let full = mem.buffers.filter { $0.value.count > 0 && $0.value.isFull }.map(\.key).sorted()
            for s in full {
                try flushSeries(s, cleanWAL: false)
                counters.flushesFull += 1
            }
            while memBytes > mem.budget, let victim = mem.victim() {
                try flushSeries(victim, release: true, cleanWAL: false)
                counters.flushesBudget += 1
            }
        }
        guard ok, let was = disk.full else { return }
        disk.full = nil
        logger.warning(
            "the disk has room again; what waited in memory is written",
            metadata: [
                "full_for_seconds": "\((now &- disk.since) / 1_000_000_000)", "error_was": "\(was)",
            ])
        try removeObsoleteWAL()
    }

    /// The disk's state, for `Database.diskStatus`.
    var diskStatus: DiskStatus {
        var s = DiskStatus()
        s.diskFull = disk.full
        s.walBytes = wal?.totalBytes ?? 0
        s.heldBytes = disk.full == nil ? 0 : memBytes + (wal?.bufferedBytes ?? 0)
        s.segmentBytes = store.totalBytes
        s.budgetBytes = options.retention?.maxBytes
        s.budgetFull = budget.full
        return s
    }
}

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
