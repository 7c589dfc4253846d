public import AliceDB
public import Logging
public import ReadAPI
internal import ServiceLifecycle
internal import Synchronization

/// The single-node store: one embedded engine directory per gateway (`GatewayStore`).
public final class EmbeddedStorage: CloudStorage, EngineReadStore {
    public let gatewayStore: GatewayStore
    private let lastUpload = Mutex<[String: Int64]>([:])

    /// - Parameter recompressAfter: seconds after which fast-profile segments are re-encoded compact.
    public init(path: String, logger: Logger, recompressAfter: Double? = nil) throws {
        gatewayStore = try GatewayStore(path: path, logger: logger, recompressAfter: recompressAfter)
    }

    public var description: String { "embedded path=\(gatewayStore.root)" }

    /// The database of a gateway that has uploaded.
    /// - Throws: `.notFound` when it never has.
    public func database(_ gateway: String) throws -> Database {
        guard let db = try gatewayStore.database(gateway, create: false) else {
            throw AliceDBError(.notFound, "no data from gateway '\(gateway)'")
        }
        return db
    }

    public func ingest(_ batch: SegmentBatch, from gateway: String) async throws -> ImportReport {
        guard let db = try gatewayStore.database(gateway, create: true) else {
            throw AliceDBError(.invalidArgument, "'\(gateway)' cannot name a gateway")
        }
        let report = try db.importSegments(batch)
        lastUpload.withLock { $0[gateway] = FileIO.wallMillis() }
        return report
    }

    public func gateways() async throws -> [GatewaySummary] {
        let last = lastUpload.withLock { $0 }
        var out = [GatewaySummary]()
        for name in gatewayStore.gateways() {
            guard let db = try gatewayStore.database(name, create: false) else { continue }
            let s = try db.stats()
            out.append(
                GatewaySummary(
                    name: name, series: s.series.count, points: s.points, bytes: s.bytes, lastUploadMillis: last[name]))
        }
        return out
    }

    public func gatewayNames() async throws -> [String] { gatewayStore.gateways() }

    public func seriesNames(_ gateway: String) async throws -> [String] {
        guard let db = try gatewayStore.database(gateway, create: false) else { return [] }
        return db.listSeries().map(\.name)
    }

    public func seriesStats(_ gateway: String, series: String?) async throws -> [SeriesStats]? {
        guard let db = try gatewayStore.database(gateway, create: false) else { return nil }
        return try db.stats(series: series).series
    }

    public func problem() async -> String? {
        FileIO.exists(gatewayStore.root + "/gateways")
            ? nil : "storage directory \(gatewayStore.root)/gateways is missing"
    }

    public func prepare() async throws {}

    /// Runs the gateways' databases' maintenance each second until the group shuts down (or the
    /// task is cancelled), then flushes and closes every one of them.
    public func run() async throws {
        var next = ContinuousClock.now
        while true {
            next = max(next + .seconds(1), ContinuousClock.now)
            let wake = next
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(until: wake, clock: .continuous) } } catch
            {
                break
            }
            gatewayStore.maintain()
        }
        gatewayStore.close()
    }

    // The embedded store keeps no tokens: they are in the configuration.
    public func principal(forToken token: String) async throws -> Principal? { nil }

    static let noTokens = AliceDBError(
        .invalidArgument,
        "tokens kept in the store need [storage] kind = \"postgres\"; list them as [[gateway]] and [[reader]] in the configuration"
    )

    public func addToken(_ token: String, for who: Principal) async throws { throw EmbeddedStorage.noTokens }
    public func removeTokens(of who: Principal) async throws -> Int { throw EmbeddedStorage.noTokens }
    public func listTokens() async throws -> [(who: Principal, createdMillis: Int64)] { throw EmbeddedStorage.noTokens }
}
