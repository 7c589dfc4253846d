public import AliceDB
public import Logging
internal import Synchronization

/// One embedded database per gateway under `<path>/gateways/<name>`, opened on first use and kept
/// open (each is a writer: this process holds its lock).
public final class GatewayStore: Sendable {
    public let root: String
    let logger: Logger
    private let open = Mutex<[String: Database]>([:])
    /// Seconds after which fast-profile segments are re-encoded compact (`[storage] recompress_after`).
    let recompressAfter: Double?

    public init(path: String, logger: Logger, recompressAfter: Double? = nil) throws {
        root = path
        self.logger = logger
        self.recompressAfter = recompressAfter
        try FileIO.makeDirectory(path)
        try FileIO.makeDirectory(path + "/gateways")
    }

    /// The database of `gateway`; with `create: false`, nil when it has never uploaded.
    public func database(_ gateway: String, create: Bool) throws -> Database? {
        guard CloudConfig.validGatewayName(gateway) else { return nil }
        return try open.withLock { (dbs: inout [String: Database]) throws -> Database? in
            if let db = dbs[gateway] { return db }
            let dir = root + "/gateways/" + gateway
            guard create || FileIO.exists(dir) else { return nil }
            var options = DatabaseOptions(logger: logger)
            options.maxBufferAgeSeconds = nil
            options.maintenanceTimer = false  // EmbeddedStorage.run calls maintain()
            options.recompressAfterMilliseconds = recompressAfter.map { Int64($0 * 1000) }
            // A gateway may send a batch again when its acknowledgement was lost, and the node
            // recognises a segment it holds by its bytes: merged, they would be stored twice.
            options.mergeSegments = false
            let db = try Database(path: dir, options: options)
            dbs[gateway] = db
            return db
        }
    }

    /// Gateways with data here, by name.
    public func gateways() -> [String] {
        ((try? FileIO.list(root + "/gateways")) ?? []).filter(CloudConfig.validGatewayName).sorted()
    }

    /// Runs every open database's periodic work (retention, compaction); failures are logged.
    public func maintain() {
        for (name, db) in open.withLock({ $0 }) {
            do { try db.maintain() } catch {
                logger.error("maintenance failed", metadata: ["gateway": "\(name)", "error": "\(error)"])
            }
        }
    }

    /// Flushes, syncs and closes every open database.
    public func close() {
        open.withLock { dbs in
            for (name, db) in dbs {
                do { try db.close() } catch {
                    logger.error(
                        "closing a gateway's database failed", metadata: ["gateway": "\(name)", "error": "\(error)"])
                }
            }
            dbs.removeAll()
        }
    }
}

/// What the node has done since it started, for /metrics.
struct CloudCounters: Sendable {
    var requests: [String: Int] = [:]  // "route status"
    var batches = 0
    var segmentsStored = 0
    var segmentsDuplicate = 0
    var segmentsRejected = 0
    var pointsStored = 0
    var bytesReceived = 0
    var rateLimited = 0
    var unauthorized = 0
    var lastUpload: [String: Int64] = [:]  // gateway → wall ms
}
