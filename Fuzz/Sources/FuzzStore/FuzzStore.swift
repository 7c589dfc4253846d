public import AliceDB
internal import AliceFormat
public import FoundationEssentials
internal import Logging

#if canImport(Glibc)
    internal import Glibc
#endif

/// The checksums of a segment file where its layout lets them be found (docs/format.md).
public enum Checksums {
    public static func fixSegmentFile(_ b: inout [UInt8]) {
        // Header: "ALSF", version, 3 reserved, u64 id, varint n, n × u64, u32 crc.
        var at = 16
        guard let n = varint(b, &at), n < 1 << 16 else { return }
        at += Int(n) * 8
        guard at + 4 <= b.count else { return }
        put32(&b, at, CRC32C.checksum(b, to: at))
        at += 4
        // Frames: "ALFR", u32 length, u32 crc(body), body.
        while at + 12 <= b.count {
            let length = Int(get32(b, at + 4))
            let body = at + 12
            guard length <= b.count - body else { return }
            fixSegments(&b, body, body + length)
            put32(&b, at + 8, CRC32C.checksum(b, from: body, to: body + length))
            at = body + length
        }
    }

    /// WAL records: u32 length, u32 crc(body), body (u64 lsn, varint series, varint count, points).
    public static func fixWAL(_ b: inout [UInt8]) {
        var at = 0
        while at + 8 <= b.count {
            let length = Int(get32(b, at))
            let body = at + 8
            guard length <= b.count - body else { return }
            put32(&b, at + 4, CRC32C.checksum(b, from: body, to: body + length))
            at = body + length
        }
    }

    /// Body: varint series, u64 lsn, varint points, varint k, k × (varint length, segment).
    public static func fixSegments(_ b: inout [UInt8], _ start: Int, _ end: Int) {
        var at = start
        guard varint(b, &at) != nil else { return }
        at += 8
        guard at <= end, varint(b, &at) != nil, let k = varint(b, &at), at <= end else { return }
        for _ in 0..<min(k, 1 << 16) {
            guard at <= end, let len = varint(b, &at), at <= end, len >= 8, len <= UInt64(end - at) else { return }
            let last = at + Int(len) - 4
            put32(&b, last, CRC32C.checksum(b, from: at, to: last))
            at += Int(len)
        }
    }

    public static func varint(_ b: [UInt8], _ at: inout Int) -> UInt64? {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while at < b.count, shift < 64 {
            let byte = b[at]
            at += 1
            v |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return v }
            shift += 7
        }
        return nil
    }

    public static func get32(_ b: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * UInt32($1)) }
    }

    public static func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
        for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
    }
}

/// A database directory per input, on tmpfs when there is one (the engine syncs what it writes).
public enum Scratch {
    public static let series = ["a", "b", "c"]
    public static let root: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : "/tmp"
        let path = base + "/alicedb-fuzz-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: Scratch.root) }
        return path
    }()
    nonisolated(unsafe) static var counter = 0

    public static func fresh() -> String {
        counter += 1
        return root + "/db-\(counter)"
    }

    public static func options(readOnly: Bool) -> DatabaseOptions {
        var o = DatabaseOptions(
            readOnly: readOnly, sync: .off, logger: Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() })
        o.maintenanceTimer = false
        return o
    }

    /// The catalog of a database that has series a, b and c (ids 1, 2, 3).
    public static let catalog: [UInt8] = {
        let dir = root + "/template"
        do {
            let db = try Database(path: dir, options: options(readOnly: false))
            for s in series { _ = try db.createSeries(s) }
            try db.close()
            return Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/catalog.json")))
        } catch { fatalError("template database: \(error)") }
    }()

    /// A new database directory holding the catalog of series a, b, c and `files` (path → bytes).
    public static func directory(_ files: [String: [UInt8]]) -> String {
        let dir = fresh()
        do {
            try FileManager.default.createDirectory(atPath: dir + "/segments", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/wal", withIntermediateDirectories: true)
            try Data(catalog).write(to: URL(fileURLWithPath: dir + "/catalog.json"))
            for (path, bytes) in files { try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + path)) }
        } catch { fatalError("scratch directory \(dir): \(error)") }
        return dir
    }

    public static func remove(_ dir: String) { try? FileManager.default.removeItem(atPath: dir) }

    /// Everything a restart and the first queries do with what is on disk.
    public static func exercise(_ dir: String) {
        if let db = try? Database(path: dir, options: options(readOnly: true)) {
            read(db)
            _ = try? db.verify()
            try? db.close()
        }
        guard let db = try? Database(path: dir, options: options(readOnly: false)) else { return }
        read(db)
        _ = try? db.verify()
        _ = try? db.stats()
        try? db.flush()
        _ = try? db.compact()
        read(db)
        _ = try? db.outbox()
        try? db.close()
    }

    public static func read(_ db: Database) {
        for s in db.listSeries() {
            _ = try? db.scan(s.name)
            _ = try? db.aggregate(s.name)
            _ = try? db.downsample(s.name, from: 0, to: 1 << 40, interval: 1 << 30)
            _ = try? db.inspect(s.name)
        }
    }
}
