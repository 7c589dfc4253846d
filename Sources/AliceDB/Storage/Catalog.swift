internal import AliceFormat
internal import FoundationEssentials

/// Per-series settings, stored in the catalog.
public struct SeriesOptions: Sendable, Hashable, Codable {
    /// The error bound; lossless by default.
    public var bound: ErrorBound
    /// MemTable capacity in points (a flush happens when it is full).
    public var capacity: Int?
    /// How the series' segments are entropy-coded; nil: the database's default (`FitterOptions`).
    public var profile: CodingProfile?
    /// How far a stored timestamp may be from the one written, in timestamp units (milliseconds
    /// for epoch-ms series); nil (0 is kept as nil): exact. Timestamps are then snapped to a
    /// fitted clock (docs/semantics.md, "Time tolerance"), at most `maxTimeTolerance`.
    public var timeTolerance: Int64?

    /// The largest time tolerance a series may have (2^32 − 1: 49 days in milliseconds).
    public static let maxTimeTolerance: Int64 = TimestampCodec.maxTolerance

    public init(
        bound: ErrorBound = .lossless, capacity: Int? = nil, profile: CodingProfile? = nil, timeTolerance: Int64? = nil
    ) {
        self.bound = bound
        self.capacity = capacity
        self.profile = profile
        self.timeTolerance = timeTolerance == 0 ? nil : timeTolerance
    }

    /// A profile as the catalog keeps it: compact, the default, is left unnamed (catalogs written
    /// before profiles existed stay as they are).
    public static func stored(_ profile: CodingProfile) -> CodingProfile? { profile == .compact ? nil : profile }

    /// Checks that `name` may carry these options.
    /// - Throws: `.invalidArgument` for a bad name or a capacity outside 1...`SegmentFormat.maxPoints`.
    func check(series name: String) throws(AliceDBError) {
        try SeriesName.validate(name)
        if let cap = capacity, cap < 1 || cap > SegmentFormat.maxPoints {
            throw AliceDBError(
                .invalidArgument, "series '\(name)': capacity must be 1...\(SegmentFormat.maxPoints) points")
        }
        if let t = timeTolerance, t < 0 || t > Self.maxTimeTolerance {
            throw AliceDBError(
                .invalidArgument, "series '\(name)': time tolerance must be 0...\(Self.maxTimeTolerance)")
        }
    }
}

/// One series in the catalog.
public struct SeriesInfo: Sendable, Hashable, Codable {
    public var id: UInt32
    public var name: String
    public var options: SeriesOptions
}

/// The series catalog: name ↔ id and settings, one JSON file replaced atomically on change.
package struct Catalog {
    struct File: Codable {
        var format: String
        var version: Int
        var series: [SeriesInfo]
    }

    package private(set) var byName: [String: SeriesInfo] = [:]
    package private(set) var byID: [UInt32: SeriesInfo] = [:]
    let path: String

    init(path: String) { self.path = path }

    static func load(path: String) throws(AliceDBError) -> Catalog {
        var c = Catalog(path: path)
        guard let bytes = try FileIO.readFile(path) else { return c }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(bytes))
        } catch {
            throw AliceDBError(.corrupt, "catalog is not valid: \(error)", path: path, cause: error)
        }
        guard file.format == "alicedb-catalog", file.version == 1 else {
            throw AliceDBError(.corrupt, "catalog has format \(file.format) version \(file.version)", path: path)
        }
        for s in file.series {
            c.byName[s.name] = s
            c.byID[s.id] = s
        }
        return c
    }

    func save() throws(AliceDBError) {
        let file = File(format: "alicedb-catalog", version: 1, series: byID.values.sorted { $0.id < $1.id })
        let encoder = JSONEncoder()
        // Compact: indentation was most of its bytes (~100 a series), and every byte of the data
        // directory counts in bytes/point.
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do { data = try encoder.encode(file) } catch {
            throw AliceDBError(.io, "catalog could not be encoded: \(error)", path: path, cause: error)
        }
        try FileIO.replace(path, with: [UInt8](data))
    }

    /// Adds a series under the id its points already have (the WAL holds them and the catalog lost
    /// it), named `series-ID` (with a suffix if that name is taken); the caller saves.
    mutating func restore(id: UInt32, options: SeriesOptions) -> SeriesInfo {
        if let s = byID[id] { return s }
        var name = "series-\(id)"
        var n = 1
        while byName[name] != nil {
            n += 1
            name = "series-\(id)-\(n)"
        }
        let s = SeriesInfo(id: id, name: name, options: options)
        byName[name] = s
        byID[id] = s
        return s
    }

    /// Adds a series (or changes its options); the caller saves.
    mutating func upsert(_ name: String, options: SeriesOptions) -> SeriesInfo {
        if var s = byName[name] {
            s.options = options
            byName[name] = s
            byID[s.id] = s
            return s
        }
        let id = (byID.keys.max() ?? 0) + 1
        let s = SeriesInfo(id: id, name: name, options: options)
        byName[name] = s
        byID[id] = s
        return s
    }
}
