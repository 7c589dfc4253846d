import AliceDB

/// Runs the storage benchmark on a folder of `ts,value` CSV files.
struct BenchRunner {
    struct Result {
        var name: String
        var points: Int
        var fraction: Double
        var bound: Double
        var bytesPerPoint: Double
        var exact: Bool
        var maxErrorRatio: Double
        var models: [String: Int]
        var importRate: Double
        var encodeRate: Double
        var decodeRate: Double
        var getNanos: Double
        var scanNanosPerPoint: Double
        var aggregateMicros: Double
        var verified: Bool
    }

    let folder: String
    let workDir: String
    let capacity: Int
    /// How often encode and decode are timed (the median is reported).
    let repeats: Int
    let profile: CodingProfile
    /// After the import, housekeeping's merge of short segments (`Database.mergeShortSegments`).
    let merge: Bool

    init(
        folder: String, workDir: String?, capacity: Int, repeats: Int = 5, profile: CodingProfile = .compact,
        merge: Bool = false
    ) throws {
        self.merge = merge
        self.folder = folder
        self.profile = profile
        self.capacity = capacity
        self.repeats = max(1, repeats)
        self.workDir = workDir ?? "/tmp/alicedb-bench-\(FileIO.processID)"
        try FileIO.makeDirectory(self.workDir)
    }

    static func load(_ path: String) throws -> (ts: [Int64], values: [Double]) {
        var reader = try LineReader(path: path)
        _ = try reader.next()
        var ts = [Int64]()
        var values = [Double]()
        // Each row parsed from its bytes (blanks around either field allowed, as numpy reads them).
        while let row = try reader.nextBytes({ line -> (Int64, Double)?? in
            guard !line.isEmpty else { return .some(nil) }
            guard let comma = line.firstIndex(of: UInt8(ascii: ",")),
                let t = DoubleText.parseTimestamp(bytes: UnsafeBufferPointer(rebasing: line[..<comma])),
                let v = DoubleText.parse(bytes: UnsafeBufferPointer(rebasing: line[(comma + 1)...]))
            else { return nil }
            return .some((t, v))
        }) {
            guard let row else {
                throw AliceDBError(.badInput, "not a ts,value row", path: path, line: reader.lineNumber)
            }
            guard let point = row else { continue }  // a blank line
            ts.append(point.0)
            values.append(point.1)
        }
        // Rows newest first (or shuffled) are measured in time order, duplicates in file order: the
        // order a scan gives them back in, and the order the encoder takes them in.
        if zip(ts, ts.dropFirst()).contains(where: { $0 > $1 }) {
            let order = ts.indices.sorted { (ts[$0], $0) < (ts[$1], $1) }
            return (order.map { ts[$0] }, order.map { values[$0] })
        }
        return (ts, values)
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        return s.isEmpty ? 0 : s[s.count / 2]
    }

    /// The CSV files of the folder that `filter` (a part of the name) lets through.
    func files(filter: String?) throws -> [String] {
        try FileIO.list(folder).filter { $0.hasSuffix(".csv") && (filter.map($0.contains) ?? true) }
    }

    func run(fractions: [Double], filter: String?, progress: (String) -> Void) throws -> [Result] {
        var results = [Result]()
        for file in try files(filter: filter) {
            let name = String(file.dropLast(4))
            let (ts, values) = try BenchRunner.load(folder + "/" + file)
            guard !ts.isEmpty else { continue }
            let finite = values.filter(\.isFinite)
            let range = (finite.max() ?? 0) - (finite.min() ?? 0)
            for fraction in fractions {
                progress("\(name) @ \(fraction)")
                results.append(
                    try measure(name: name, ts: ts, values: values, fraction: fraction, bound: fraction * range))
            }
        }
        try? removeTree(workDir)
        return results
    }

    func measure(name: String, ts: [Int64], values: [Double], fraction: Double, bound: Double) throws -> Result {
        let dir = workDir + "/" + name + "-" + String(fraction)
        try? removeTree(dir)
        let errorBound = ErrorBound(absolute: bound)
        // Import: putBatch in chunks, fitting on every full MemTable, then close (flush + sync).
        let start = Clock.now
        do {
            let db = try Database(path: dir, options: DatabaseOptions(defaultCapacity: capacity))
            try db.createSeries("s", options: SeriesOptions(bound: errorBound, profile: SeriesOptions.stored(profile)))
            var i = 0
            while i < ts.count {
                let end = min(ts.count, i + 65536)
                try ts[i..<end].withUnsafeBufferPointer { t in
                    try values[i..<end].withUnsafeBufferPointer { v in try db.putBatch("s", t, v) }
                }
                i = end
            }
            try db.close()
        }
        let importSeconds = Clock.seconds(since: start)
        if merge {
            let db = try Database(path: dir, options: DatabaseOptions(defaultCapacity: capacity))
            try db.mergeShortSegments()
            try db.close()
        }
        let bytes = directoryBytes(dir)

        // Fit + verify alone, and decode alone, without the file system: medians of `repeats` runs
        // (one run over a data set lasts milliseconds, too short to time once).
        var encoded = [[UInt8]]()
        var encodeTimes = [Double]()
        var decodeTimes = [Double]()
        var decodedPoints = 0
        for _ in 0..<repeats {
            encoded.removeAll(keepingCapacity: true)
            let encStart = Clock.now
            ts.withUnsafeBufferPointer { t in
                values.withUnsafeBufferPointer { v in
                    var i = 0
                    while i < t.count {
                        let end = min(t.count, i + capacity)
                        for s in Competition.encode(
                            seriesID: 1, timestamps: t, values: v, range: i..<end, bound: errorBound,
                            options: FitterOptions(profile: profile))
                        {
                            encoded.append(s.bytes)
                        }
                        i = end
                    }
                }
            }
            encodeTimes.append(Clock.seconds(since: encStart))
            let decStart = Clock.now
            decodedPoints = 0
            for e in encoded { decodedPoints += (try? SegmentFormat.decode(e).values.count) ?? 0 }
            decodeTimes.append(Clock.seconds(since: decStart))
        }
        let encodeSeconds = BenchRunner.median(encodeTimes)
        let decodeSeconds = BenchRunner.median(decodeTimes)

        let db = try Database(path: dir, options: DatabaseOptions(readOnly: true))
        let scanStart = Clock.now
        let got = try db.scan("s")
        let scanSeconds = Clock.seconds(since: scanStart)
        var exact = got.count == ts.count
        var worst = 0.0
        if exact {
            for i in 0..<got.count {
                if got[i].timestamp != ts[i] { exact = false }
                if got[i].value.bitPattern != values[i].bitPattern {
                    exact = false
                    if values[i].isFinite && got[i].value.isFinite {
                        worst = max(worst, abs(got[i].value - values[i]))
                    } else {
                        worst = .infinity
                    }
                }
            }
        } else {
            worst = .infinity
        }
        // Point queries on flushed segments: batches of 1000 random existing timestamps.
        var rng = SplitMix(seed: 42)
        var batchNanos = [Double]()
        var sink = 0.0
        for _ in 0..<15 {
            let probes = (0..<1000).map { _ in ts[Int(rng.next() % UInt64(ts.count))] }
            let s = Clock.now
            for p in probes { sink += try db.get("s", at: p) ?? 0 }
            batchNanos.append(Clock.seconds(since: s) * 1e9 / 1000)
        }
        var aggMicros = [Double]()
        for _ in 0..<51 {
            let s = Clock.now
            sink += try db.aggregate("s").sum
            aggMicros.append(Clock.seconds(since: s) * 1e6)
        }
        let stats = try db.stats()
        let verified = try db.verify().ok
        if sink == 42.4242 { print("") }  // keeps the loops from being optimised away
        return Result(
            name: name, points: ts.count, fraction: fraction, bound: bound,
            bytesPerPoint: Double(bytes) / Double(ts.count), exact: exact,
            maxErrorRatio: bound > 0 ? worst / bound : (exact ? 0 : .infinity), models: stats.models,
            importRate: Double(ts.count) / importSeconds, encodeRate: Double(ts.count) / encodeSeconds,
            decodeRate: Double(decodedPoints) / decodeSeconds, getNanos: BenchRunner.median(batchNanos),
            scanNanosPerPoint: scanSeconds * 1e9 / Double(ts.count), aggregateMicros: BenchRunner.median(aggMicros),
            verified: verified)
    }

    func directoryBytes(_ dir: String) -> Int {
        var total = 0
        for name in (try? FileIO.list(dir)) ?? [] {
            let p = dir + "/" + name
            if let sub = try? FileIO.list(p) {
                for n in sub { total += FileIO.size(path: p + "/" + n) ?? 0 }
            } else {
                total += FileIO.size(path: p) ?? 0
            }
        }
        return total
    }

    func removeTree(_ dir: String) throws {
        for name in (try? FileIO.list(dir)) ?? [] {
            let p = dir + "/" + name
            if (try? FileIO.list(p)) != nil { try removeTree(p) } else { try FileIO.remove(p) }
        }
        try FileIO.removeDirectory(dir)
    }
}
