internal import AliceFormat
public import Logging

/// How a database is opened.
public struct DatabaseOptions: Sendable {
    /// Open without the writer lock: queries only, including points still in a writer's WAL.
    public var readOnly: Bool
    /// When the WAL is fsynced (group commit by default).
    public var sync: SyncPolicy
    /// Bytes all MemTables may hold together; the largest buffers are flushed past it.
    public var memoryBudget: Int
    /// MemTable capacity in points for series that do not set their own: the longest segment a
    /// flush writes. The format's longest by default, so that an import or a busy series pays a
    /// segment's ~90 bytes of header, frame and index entry once per 65 536 points; a gateway's
    /// buffers are flushed by age and budget long before that (their segments are merged later).
    public var defaultCapacity: Int
    /// Flush a buffer whose oldest point has waited this long (nil: never by age).
    public var maxBufferAgeSeconds: Double?
    /// Bytes the WAL files may hold (nil: as many as the buffered points need). Past it, the
    /// buffers holding the oldest WAL records are flushed early so that their files can go; WAL
    /// files are then at most a quarter of it each (counted in `WriteCounters.flushesWAL`).
    public var walMaxBytes: Int?
    /// Settings of the fitter competition.
    public var fitter: FitterOptions
    /// Options for series created implicitly by `put`.
    public var defaultSeriesOptions: SeriesOptions
    /// Where the engine logs (torn tails, retention, corruption).
    public var logger: Logger
    /// Applied by the writer at open and then every minute (nil: keep everything).
    public var retention: RetentionPolicy?
    /// The writer merges segment files smaller than this once there are `compactAfterFiles` of them.
    public var compactSmallBytes: Int
    public var compactAfterFiles: Int
    /// Segments of fast-profile series whose newest point is older than this many milliseconds
    /// (timestamps taken as epoch milliseconds) are re-encoded into the compact profile by the
    /// writer's maintenance, a little at a time outside its lock (nil: never). Segments keep their
    /// values and timestamps bit for bit; in an outbox only acknowledged files are re-encoded.
    public var recompressAfterMilliseconds: Int64?
    /// The writer's maintenance merges runs of a series' short segments in sealed files (in an
    /// outbox: acknowledged ones) into one segment each, a little at a time outside its lock, where
    /// that is smaller (`SegmentMerge`: the stored points bit for bit, the bounds as verified).
    /// Off by default in the library (an import writes long segments); the agent turns it on
    /// (`[storage] merge_segments`) and runs the steps apart from its group commit.
    public var mergeSegments = false
    /// The segment files are an outbox shipped upstream (`uplink.json` holds how far): compaction
    /// and age retention then touch acknowledged segments only, and only the disk budget may
    /// delete segments not yet acknowledged (counted in `WriteCounters.retentionUnshipped…`).
    public var outbox = false
    /// Runs maintenance (WAL group commit, age-based flushes, retention, compaction) on the
    /// database's own timer. False when the owner calls `Database.maintain()` on its own schedule,
    /// as the agent's maintenance service does.
    public var maintenanceTimer = true

    /// How often maintenance should run: the WAL's group-commit interval, between 5 ms and 1 s.
    public var maintenanceInterval: Duration { .milliseconds(maintenanceMillis) }

    var maintenanceMillis: Int {
        if case .interval(let ms) = sync { return max(5, min(ms, 1000)) }
        return 1000
    }

    public init(
        readOnly: Bool = false, sync: SyncPolicy = .interval(milliseconds: 200), memoryBudget: Int = 8 << 20,
        defaultCapacity: Int = 1 << 16, maxBufferAgeSeconds: Double? = 600, fitter: FitterOptions = FitterOptions(),
        defaultSeriesOptions: SeriesOptions = SeriesOptions(), logger: Logger = Logger(label: "alicedb"),
        retention: RetentionPolicy? = nil, compactSmallBytes: Int = 4 << 20, compactAfterFiles: Int = 8,
        walMaxBytes: Int? = 64 << 20
    ) {
        self.walMaxBytes = walMaxBytes.map { max($0, 256 << 10) }
        self.retention = retention
        self.compactSmallBytes = compactSmallBytes
        self.compactAfterFiles = max(2, compactAfterFiles)
        self.readOnly = readOnly
        self.sync = sync
        self.memoryBudget = max(memoryBudget, 64 << 10)
        self.defaultCapacity = min(max(defaultCapacity, 16), SegmentFormat.maxPoints)
        self.maxBufferAgeSeconds = maxBufferAgeSeconds
        self.fitter = fitter
        self.defaultSeriesOptions = defaultSeriesOptions
        self.logger = logger
    }
}

/// What the writer deletes on its own: counted in `WriteCounters` and logged.
public struct RetentionPolicy: Sendable, Hashable {
    /// Delete segments whose newest point is older than this many milliseconds before now
    /// (timestamps taken as epoch milliseconds).
    public var maxAgeMilliseconds: Int64?
    /// The disk budget: what the segment files may hold, in bytes.
    public var maxBytes: Int?
    /// What happens when the segment files reach `maxBytes`.
    public var onFull: FullPolicy

    /// What the disk budget does when it is reached.
    public enum FullPolicy: String, Sendable, Hashable, CaseIterable {
        /// Delete the oldest segments, shipped or not, until the files fit (counted, logged).
        case dropOldest = "drop_oldest"
        /// Delete only segments the uplink has acknowledged (none without an outbox); while that
        /// does not bring the files under the budget, `Database.diskStatus.budgetFull` tells the
        /// writer to stop taking points (the agent pauses intake) until it does.
        case pause
    }

    public init(maxAgeMilliseconds: Int64? = nil, maxBytes: Int? = nil, onFull: FullPolicy = .dropOldest) {
        self.maxAgeMilliseconds = maxAgeMilliseconds
        self.maxBytes = maxBytes
        self.onFull = onFull
    }
}

/// Counters of the write path.
public struct WriteCounters: Sendable, Hashable, Codable {
    /// Points accepted by `put`/`putBatch`.
    public var points: Int = 0
    /// Points that arrived before a newer point of their series (merged into the MemTable).
    public var outOfOrder: Int = 0
    /// Points at or before the newest *flushed* timestamp: stored in overlapping segments.
    public var late: Int = 0
    /// Segments written and their bytes.
    public var segments: Int = 0
    public var segmentBytes: Int = 0
    /// Flushes by cause.
    public var flushesFull: Int = 0
    public var flushesBudget: Int = 0
    public var flushesAge: Int = 0
    public var flushesExplicit: Int = 0
    /// Flushes made early so that the WAL stays within `DatabaseOptions.walMaxBytes`.
    public var flushesWAL: Int = 0
    /// Retention: segments and points deleted.
    public var retentionSegments: Int = 0
    public var retentionPoints: Int = 0
    /// Of those, deleted by the disk budget before the uplink had shipped them.
    public var retentionUnshippedSegments: Int = 0
    public var retentionUnshippedPoints: Int = 0
    /// Segments re-encoded from the fast profile into the compact one, and their bytes before and
    /// after (`DatabaseOptions.recompressAfterMilliseconds`).
    public var recompressedSegments: Int = 0
    public var recompressedBytesBefore: Int = 0
    public var recompressedBytesAfter: Int = 0
    /// Short segments merged away by housekeeping (`DatabaseOptions.mergeSegments`: a run of k
    /// segments made one counts k − 1), and the bytes of the runs before and after.
    public var mergedSegments: Int = 0
    public var mergedBytesBefore: Int = 0
    public var mergedBytesAfter: Int = 0
}

/// Points of one series and the options the series must have (`Database.putBatches`).
public struct SeriesBatch: Sendable {
    public var series: String
    public var options: SeriesOptions
    public var timestamps: [Int64]
    public var values: [Double]

    public init(series: String, options: SeriesOptions, timestamps: [Int64], values: [Double]) {
        self.series = series
        self.options = options
        self.timestamps = timestamps
        self.values = values
    }
}
