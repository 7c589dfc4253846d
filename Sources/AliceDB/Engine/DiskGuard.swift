internal import AliceFormat
internal import Logging

/// A full disk (`ENOSPC`, a quota, a file-size limit) while the engine writes: nothing accepted is
/// lost. Points stay in their MemTables and their WAL records in the WAL's buffer; series created
/// meanwhile stay in the catalog in memory. The engine stops trying to flush, and retries at most
/// once a second (`Engine.retryDisk`): the catalog first, then the WAL's buffer, then the flushes
/// that waited. A write cut short leaves no partial record or frame behind (`WAL.flushBuffer` and
/// `SegmentStore.append` truncate back to the last whole one).
///
/// The guard is that policy's state: whether and since when the disk is full (logged once), when a
/// write was last tried, whether the catalog waits to be saved, and how much may wait in memory.
/// The engine owns it and asks it before each write; what to retry is the engine's.
final class DiskGuard {
    /// The write that found the disk full (nil: writes go through).
    private(set) var full: AliceDBError?
    /// When it was first found full, and when a write was last tried (monotonic ns).
    private var since: UInt64 = 0
    private var lastTry: UInt64 = 0
    /// Series were created or changed while the disk was full: `catalog.json` lacks them.
    private var catalogDirty = false
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// Notes that the disk is full (logged once, until there is room again).
    /// - Parameter walBuffered: the WAL's buffered bytes, for the log.
    func note(_ error: AliceDBError, walBuffered: Int) {
        let now = FileIO.monotonicNanos()
        if full == nil {
            since = now
            logger.error(
                "the disk is full; points wait in memory until there is room",
                metadata: ["error": "\(error)", "wal_buffered_bytes": "\(walBuffered)"])
        }
        full = error
        lastTry = now
    }

    /// Runs a write that may find the disk full.
    /// - Returns: false when it did (noted); other errors are thrown.
    func tolerating(walBuffered: @autoclosure () -> Int, _ body: () throws(AliceDBError) -> Void)
        throws(AliceDBError) -> Bool
    {
        do {
            try body()
            return true
        } catch  where error.code == .diskFull {
            note(error, walBuffered: walBuffered())
            return false
        }
    }

    /// Points held in memory for want of disk (MemTables and the WAL's buffer, `held` bytes) may
    /// not pass `limit`: past it `put` refuses more, storing nothing.
    /// - Throws: `.diskFull` when the disk is full and `points` more would pass the limit.
    func checkRoomToHold(points: Int, held: Int, limit: Int) throws(AliceDBError) {
        guard let full else { return }
        // A WAL record takes 16 bytes a point.
        guard held + 16 * points > limit else { return }
        throw AliceDBError(
            .diskFull,
            "the disk is full and \(held) bytes of points wait in memory for it (at most \(limit)); "
                + "refusing \(points) more", path: full.path, errno: full.errno, cause: full)
    }

    /// Writes the catalog; a full disk keeps it in memory, saved before anything that names its
    /// series is written (`saveIfDirty`).
    func save(_ catalog: Catalog, walBuffered: @autoclosure () -> Int) throws(AliceDBError) {
        if full != nil {
            catalogDirty = true
            return
        }
        do { try catalog.save() } catch  where error.code == .diskFull {
            catalogDirty = true
            note(error, walBuffered: walBuffered())
        }
    }

    /// Writes the catalog if a full disk held it back.
    func saveIfDirty(_ catalog: Catalog) throws(AliceDBError) {
        guard catalogDirty else { return }
        try catalog.save()
        catalogDirty = false
    }

    /// While the disk is full, tries `body` again — what waits for the disk — at most once a second
    /// unless `force`. When it goes through the disk has room again: noted and logged.
    /// - Returns: true when the disk was full and has room now.
    func retry(force: Bool, walBuffered: @autoclosure () -> Int, _ body: () throws(AliceDBError) -> Void)
        throws(AliceDBError) -> Bool
    {
        guard full != nil else { return false }
        let now = FileIO.monotonicNanos()
        guard force || now &- lastTry >= 1_000_000_000 else { return false }
        lastTry = now
        guard try tolerating(walBuffered: walBuffered(), body), let was = full else { return false }
        full = nil
        logger.warning(
            "the disk has room again; what waited in memory is written",
            metadata: [
                "full_for_seconds": "\((now &- since) / 1_000_000_000)", "error_was": "\(was)",
            ])
        return true
    }
}
