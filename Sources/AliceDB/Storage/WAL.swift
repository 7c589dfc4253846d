internal import AliceFormat
internal import Logging
internal import SystemPackage

/// When the write-ahead log reaches the disk.
public enum SyncPolicy: Sendable, Hashable, CustomStringConvertible {
    /// Group commit: at most this many milliseconds of acknowledged points can be lost.
    case interval(milliseconds: Int)
    /// `fsync` after every `put`/`putBatch` call.
    case everyWrite
    /// Never `fsync` (the OS writes back when it likes); for bulk loads you can redo.
    case off

    public var description: String {
        switch self {
        case .interval(let ms): "interval \(ms) ms"
        case .everyWrite: "every write"
        case .off: "off"
        }
    }
}

/// One WAL record: a batch of points of one series.
package struct WALRecord {
    package var lsn: UInt64
    package var seriesID: UInt32
    package var timestamps: [Int64]
    package var values: [Double]
}

/// The write-ahead log: numbered files `wal/NNNNNNNNNNNNNNNN.log` of CRC-framed records.
///
/// Record: `u32 length, u32 crc32c(body), body = u64 lsn, varint series, varint n, n×i64 ts,
/// n×u64 value bits`. Records are buffered and written in groups; `sync` makes them durable.
package final class WAL {
    /// A file is closed and the next one started past this size (smaller under a `walMaxBytes`
    /// budget: only whole files can be deleted).
    static let maxFileBytes = 8 << 20
    static let maxRecordPoints = 1 << 16
    /// Buffered record bytes that force a write before the next group commit (bounds memory in a burst).
    static let bufferLimit = 256 << 10
    let dir: String
    let logger: Logger
    /// Where the current file is closed and the next one started.
    let fileLimit: Int
    /// The current file, owned: closed by `rotate` and `close` (-1: none open).
    private var fd = FileDescriptor(rawValue: -1)
    private(set) var currentFile: UInt64 = 0
    private var currentSize = 0
    private var buffer: [UInt8] = []
    /// Highest LSN written into each file (files before the current one are closed).
    private(set) var fileMaxLSN: [UInt64: UInt64] = [:]
    /// Bytes of each closed file, and their sum (the current file is `currentSize`).
    private var closedBytes: [UInt64: Int] = [:]
    private var closedTotal = 0
    private var dirty = false
    /// A file was created and the directory's sync failed: its name is not durable yet, so neither
    /// is anything synced into it; `sync` tries the directory again first.
    private var directoryDirty = false
    package private(set) var lastSyncNanos: UInt64 = FileIO.monotonicNanos()

    init(dir: String, logger: Logger, fileLimit: Int = WAL.maxFileBytes) {
        self.dir = dir
        self.logger = logger
        self.fileLimit = max(64 << 10, min(fileLimit, WAL.maxFileBytes))
    }

    static func fileName(_ n: UInt64) -> String {
        let hex = String(n, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex + ".log"
    }

    func path(_ n: UInt64) -> String { dir + "/" + WAL.fileName(n) }

    /// Existing WAL file numbers, in order.
    static func files(in dir: String) throws(AliceDBError) -> [UInt64] {
        guard FileIO.exists(dir) else { return [] }
        return try FileIO.list(dir).compactMap { name -> UInt64? in
            guard name.hasSuffix(".log") else { return nil }
            return UInt64(name.dropLast(4), radix: 16)
        }.sorted()
    }

    /// Reads every record of every WAL file in order. A torn or corrupt tail ends that file's
    /// records; when `repair` is set the file is truncated there, with a warning.
    static func replay(
        dir: String, repair: Bool, logger: Logger, _ body: (WALRecord) throws(AliceDBError) -> Void
    ) throws(AliceDBError) -> (files: [UInt64: UInt64], maxLSN: UInt64) {
        var maxLSN: UInt64 = 0
        var fileMax = [UInt64: UInt64]()
        for n in try files(in: dir) {
            let path = dir + "/" + fileName(n)
            guard let bytes = try FileIO.readFile(path) else { continue }  // removed meanwhile
            var good = 0
            var fileLSN: UInt64 = 0
            var problem: String? = nil
            let records: [WALRecord] = bytes.withUnsafeBytes { raw in
                var out = [WALRecord]()
                var r = ByteReader(raw)
                while r.remaining > 0 {
                    do {
                        let start = r.offset
                        let length = Int(try r.u32("record length"))
                        let crc = try r.u32("record checksum")
                        let bodyStart = try r.skip(length, "record body")
                        let body = UnsafeRawBufferPointer(rebasing: raw[bodyStart..<(bodyStart + length)])
                        guard CRC32C.checksum(body) == crc else {
                            throw DecodeError("record checksum mismatch", offset: start)
                        }
                        var br = ByteReader(body)
                        let lsn = try br.u64("lsn")
                        let series = try br.count("series id", limit: Int(UInt32.max))
                        let count = try br.count("point count", limit: maxRecordPoints)
                        try br.need(count * 16, "points")
                        var ts = [Int64]()
                        var vs = [Double]()
                        ts.reserveCapacity(count)
                        vs.reserveCapacity(count)
                        for _ in 0..<count { ts.append(Int64(bitPattern: try br.u64())) }
                        for _ in 0..<count { vs.append(try br.f64()) }
                        out.append(WALRecord(lsn: lsn, seriesID: UInt32(series), timestamps: ts, values: vs))
                        good = r.offset
                        fileLSN = max(fileLSN, lsn)
                    } catch {
                        problem = "\(error)"
                        break
                    }
                }
                return out
            }
            for record in records {
                try body(record)
                maxLSN = max(maxLSN, record.lsn)
            }
            fileMax[n] = fileLSN
            if let problem {
                // A reader can catch a live writer mid-record: only a writer's repair is worth a warning.
                logger.log(
                    level: repair ? .warning : .debug,
                    "WAL tail is torn; \(repair ? "truncated" : "ignored") after the last whole record",
                    metadata: [
                        "file": "\(path)", "offset": "\(good)", "size": "\(bytes.count)", "reason": "\(problem)",
                    ])
                if repair {
                    let fd = try FileIO.open(path, write: true)
                    defer { FileIO.close(fd) }
                    try FileIO.truncate(fd, to: good, path: path)
                    try FileIO.sync(fd, path: path)
                }
            }
        }
        return (fileMax, maxLSN)
    }

    /// Starts a new file after the existing ones, remembering which LSNs the old ones hold.
    func openForAppend(existing: [UInt64: UInt64]) throws(AliceDBError) {
        try FileIO.makeDirectory(dir)
        fileMaxLSN = existing
        for n in existing.keys { closedBytes[n] = FileIO.size(path: path(n)) ?? 0 }
        closedTotal = closedBytes.values.reduce(0, +)
        currentFile = (existing.keys.max() ?? 0) + 1
        fd = try FileIO.open(path(currentFile), write: true, create: true, truncate: true)
        currentSize = 0
        try syncDirectory()
    }

    private func syncDirectory() throws(AliceDBError) {
        directoryDirty = true
        try FileIO.syncDirectory(dir)
        directoryDirty = false
    }

    /// Buffers a record; written by `flushBuffer`/`sync`.
    func append(lsn: UInt64, series: UInt32, ts: UnsafeBufferPointer<Int64>, values: UnsafeBufferPointer<Double>) {
        var i = 0
        while i < ts.count {
            let n = min(WAL.maxRecordPoints, ts.count - i)
            let start = buffer.count
            buffer.append(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0])
            var w = ByteWriter(capacity: 0)
            swap(&w.bytes, &buffer)
            w.u64(lsn)
            w.varint(UInt64(series))
            w.varint(UInt64(n))
            w.bytes.reserveCapacity(w.bytes.count + n * 16)
            for j in i..<(i + n) { w.u64(UInt64(bitPattern: ts[j])) }
            for j in i..<(i + n) { w.u64(values[j].bitPattern) }
            swap(&w.bytes, &buffer)
            let length = buffer.count - start - 8
            let crc = buffer.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + 8)...])) }
            for k in 0..<4 {
                buffer[start + k] = UInt8(truncatingIfNeeded: UInt32(length) >> (8 * UInt32(k)))
                buffer[start + 4 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k)))
            }
            i += n
        }
        fileMaxLSN[currentFile] = max(fileMaxLSN[currentFile] ?? 0, lsn)
    }

    var bufferedBytes: Int { buffer.count }

    /// Forgets the records buffered after the first `mark` bytes (a write that could not be made durable).
    func discardBuffered(from mark: Int) {
        if buffer.count > mark { buffer.removeSubrange(mark...) }
    }

    /// Hands buffered records to the OS (no fsync); rotates the file when it is big.
    func flushBuffer() throws(AliceDBError) {
        guard !buffer.isEmpty else { return }
        do {
            try FileIO.writeAll(fd, buffer, path: path(currentFile))
        } catch {
            // Never leave half a record in the middle of the log: cut back to the last whole one.
            try? FileIO.truncate(fd, to: currentSize, path: path(currentFile))
            FileIO.seekToEnd(fd)
            throw error
        }
        currentSize += buffer.count
        buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
        dirty = true
        if currentSize >= fileLimit { try rotate() }
    }

    /// Closes the current file and starts the next, so the old one can be deleted once flushed.
    /// The next file is opened before the current one is closed: a failure (a full disk) leaves the
    /// log appending where it was.
    func rotate() throws(AliceDBError) {
        try FileIO.sync(fd, path: path(currentFile))
        let next = try FileIO.open(path(currentFile + 1), write: true, create: true, truncate: true)
        FileIO.close(fd)
        fd = next
        closedBytes[currentFile] = currentSize
        closedTotal += currentSize
        currentFile += 1
        currentSize = 0
        dirty = false
        try syncDirectory()
    }

    /// Bytes in the current file, written or buffered.
    var currentBytes: Int { currentSize + buffer.count }

    /// Bytes of every WAL file, written or buffered.
    var totalBytes: Int { closedTotal + currentBytes }

    /// The closed files, oldest first, with their bytes and highest LSN.
    var closedFiles: [(file: UInt64, bytes: Int, maxLSN: UInt64)] {
        closedBytes.keys.sorted().map { ($0, closedBytes[$0]!, fileMaxLSN[$0] ?? 0) }
    }

    /// Writes the buffer and makes everything written durable.
    func sync() throws(AliceDBError) {
        try flushBuffer()
        if directoryDirty { try syncDirectory() }
        if dirty {
            try FileIO.sync(fd, path: path(currentFile))
            dirty = false
        }
        lastSyncNanos = FileIO.monotonicNanos()
    }

    /// Deletes closed files whose every record is older than `minUnflushedLSN` (already in segments).
    func removeObsolete(minUnflushedLSN: UInt64) throws(AliceDBError) {
        for (file, maxLSN) in fileMaxLSN where file != currentFile && maxLSN < minUnflushedLSN {
            try FileIO.remove(path(file))
            fileMaxLSN[file] = nil
            closedTotal -= closedBytes.removeValue(forKey: file) ?? 0
        }
    }

    func close() {
        if fd.rawValue >= 0 { FileIO.close(fd) }
        fd = FileDescriptor(rawValue: -1)
    }
}
