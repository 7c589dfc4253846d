internal import AliceFormat
internal import FoundationEssentials

/// How far a gateway's segments have been shipped upstream and acknowledged: `uplink.json` in the
/// data directory, replaced atomically (and synced) at every acknowledgement.
///
/// A segment is acknowledged when its file is before `cursor.file`, or is `cursor.file` and the
/// segment's frame starts before `cursor.offset`, or its file is listed in `shipped` (a file that
/// compaction wrote from acknowledged files only: it gets a new number past the cursor).
public struct UplinkState: Sendable, Equatable, Codable {
    public var cursor: UplinkCursor
    /// Files past the cursor holding acknowledged segments only.
    public var shipped: [UInt64]
    /// Totals acknowledged by the receiver since the outbox began.
    public var acknowledgedSegments: Int
    public var acknowledgedPoints: Int
    public var acknowledgedBytes: Int
    /// Wall-clock milliseconds of the last acknowledgement, and of the last time nothing waited.
    public var lastAcknowledgedMillis: Int64?
    public var caughtUpMillis: Int64?

    public init() {
        cursor = .start
        shipped = []
        acknowledgedSegments = 0
        acknowledgedPoints = 0
        acknowledgedBytes = 0
    }

    static let fileName = "uplink.json"

    /// Whether the segment whose frame starts at `offset` in file `file` has been acknowledged.
    func isAcknowledged(file: UInt64, offset: Int) -> Bool {
        file < cursor.file || (file == cursor.file && offset < cursor.offset) || shipped.contains(file)
    }

    /// Whether every segment of `file` has been acknowledged.
    func isAcknowledged(file: UInt64) -> Bool { file < cursor.file || shipped.contains(file) }

    static func load(dir: String) throws(AliceDBError) -> UplinkState? {
        let path = dir + "/" + fileName
        guard let bytes = try FileIO.readFile(path) else { return nil }
        do {
            return try JSONDecoder().decode(UplinkState.self, from: Data(bytes))
        } catch {
            throw AliceDBError(
                .corrupt, "uplink cursor is not valid JSON (\(error)); fix or delete it to ship everything again",
                path: path)
        }
    }

    func save(dir: String) throws(AliceDBError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do { data = try encoder.encode(self) } catch {
            throw AliceDBError(
                .io, "uplink cursor could not be encoded: \(error)", path: dir + "/" + UplinkState.fileName)
        }
        try FileIO.replace(dir + "/" + UplinkState.fileName, with: [UInt8](data))
    }
}

/// What waits in the outbox, not yet acknowledged by the receiver.
public struct UplinkLag: Sendable, Equatable, Codable {
    public var segments = 0
    public var bytes = 0
    /// Seconds since the outbox was last empty (0 while nothing waits).
    public var seconds = 0.0
    /// The state it was computed from (nil: this database has never shipped anything).
    public var state: UplinkState?

    public init() {}
}

/// One batch taken from the outbox: what to send and where the cursor goes once it is acknowledged.
public struct OutboxBatch: Sendable {
    /// The segments, encoded (`SegmentBatch`): the body of an upload.
    public var body: [UInt8]
    /// How many segments `body` holds.
    public var segments: Int
    /// The format features they use, sorted (`FormatFeatures`).
    public var features: [String]
    public var next: UplinkCursor
    public var points: Int
    /// About the bytes of `body` (the sum of its entries' sizes).
    public var bytes: Int
    public var isEmpty: Bool { segments == 0 }

    /// The batch decoded again from `body`: for tests and tools that look at its entries.
    /// - Throws: `AliceDBError` (never for a batch the outbox built).
    public func decoded() throws -> SegmentBatch { try SegmentBatch.decode(body) }
}

/// Where a gateway's shipping stands: the next frame to send is at `offset` in segment file `file`
/// (files before it, and frames before `offset` in it, have been acknowledged).
public struct UplinkCursor: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: UInt64
    public var offset: Int

    public static let start = UplinkCursor(file: 0, offset: 0)

    public init(file: UInt64, offset: Int) {
        self.file = file
        self.offset = offset
    }

    public var description: String { "\(SegmentFile.fileName(file))@\(offset)" }
}
