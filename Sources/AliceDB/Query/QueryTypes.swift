internal import AliceFormat

/// One stored point.
public struct DataPoint: Sendable, Hashable, Codable {
    public var timestamp: Int64
    public var value: Double
    public init(_ timestamp: Int64, _ value: Double) {
        self.timestamp = timestamp
        self.value = value
    }
}

/// The aggregations every query supports.
public enum Aggregation: String, Sendable, CaseIterable, Codable {
    case count, sum, avg, min, max
}

/// The result of an aggregation over a range: every statistic at once.
public struct AggregateResult: Sendable, Hashable, Codable {
    /// All points, NaN included.
    public var count: Int
    /// Points that are not NaN (those that sum/min/max/avg use).
    public var numericCount: Int
    public var sum: Double
    public var min: Double?
    public var max: Double?
    public var avg: Double? { numericCount > 0 ? sum / Double(numericCount) : nil }

    public init(_ s: SegmentSummary) {
        count = s.count
        numericCount = s.count - s.nanCount
        sum = s.sum
        min = numericCount > 0 ? s.min : nil
        max = numericCount > 0 ? s.max : nil
    }

    /// The value of one aggregation (nil where it is undefined: min of nothing, …).
    public func value(_ a: Aggregation) -> Double? {
        switch a {
        case .count: Double(count)
        case .sum: sum
        case .avg: avg
        case .min: min
        case .max: max
        }
    }
}

/// One bucket of a downsample: `[start, start + interval)`.
public struct Bucket: Sendable, Hashable, Codable {
    public var start: Int64
    public var result: AggregateResult
}

/// One segment as `inspect` shows it.
public struct SegmentInfo: Sendable, Hashable, Codable {
    public var model: String
    public var firstTimestamp: Int64
    public var lastTimestamp: Int64
    public var points: Int
    public var bytes: Int
    /// Of `bytes`: the coded timestamps and the coded values (the rest is the header).
    public var timestampBytes: Int
    public var valueBytes: Int
    public var maxError: Double
    public var bound: ErrorBound
    public var file: String
    public var offset: Int
    /// How its integer streams are coded (its format version says it).
    public var profile: CodingProfile = .compact
    /// How far its timestamps may be from the ones written, and the farthest one is (0, 0: exact).
    public var timeTolerance: Int64 = 0
    public var maxTimeError: Int64 = 0
}

/// Storage statistics of one series.
public struct SeriesStats: Sendable, Hashable, Codable {
    public var name: String
    public var points: Int
    /// Points still in the MemTable (not yet in segments).
    public var bufferedPoints: Int
    public var segments: Int
    /// Segment bytes of this series (its share of the data directory).
    public var bytes: Int
    public var bytesPerPoint: Double
    /// Points per model kind.
    public var models: [String: Int]
    public var firstTimestamp: Int64?
    public var lastTimestamp: Int64?
    public var bound: ErrorBound
    /// How new segments are entropy-coded (nil from a node that predates profiles: compact).
    public var profile: CodingProfile?
    /// How far new segments' timestamps may be from the ones written (nil: exact).
    public var timeTolerance: Int64?

    public init(
        name: String, points: Int, bufferedPoints: Int, segments: Int, bytes: Int, bytesPerPoint: Double,
        models: [String: Int],
        firstTimestamp: Int64?, lastTimestamp: Int64?, bound: ErrorBound, profile: CodingProfile? = nil,
        timeTolerance: Int64? = nil
    ) {
        self.profile = profile
        self.timeTolerance = timeTolerance
        self.name = name
        self.points = points
        self.bufferedPoints = bufferedPoints
        self.segments = segments
        self.bytes = bytes
        self.bytesPerPoint = bytesPerPoint
        self.models = models
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
        self.bound = bound
    }
}

/// Storage statistics of a database.
public struct DatabaseStats: Sendable, Hashable, Codable {
    public var points: Int
    public var bufferedPoints: Int
    public var segments: Int
    /// Every byte in the data directory (segments, WAL, catalog, lock).
    public var bytes: Int
    public var bytesPerPoint: Double
    public var models: [String: Int]
    public var segmentFiles: Int
    public var walBytes: Int
    public var series: [SeriesStats]
    public var counters: WriteCounters
}

/// What `verify` found.
public struct VerifyReport: Sendable, Hashable, Codable {
    public var segments = 0
    public var points = 0
    public var faults: [String] = []
    public var ok: Bool { faults.isEmpty }
}

/// A part of a stored series, in time order: a whole segment's exact summary, or points.
public enum SeriesPiece: Sendable {
    case summary(first: Int64, last: Int64, SegmentSummary)
    case points(timestamps: [Int64], values: [Double])
}
