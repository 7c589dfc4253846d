/// Imports CSV files: `ts,value` into one series, or one series per column beside a timestamp column.
public enum CSVImporter {
    public struct Options: Sendable {
        /// The series (single form), or the name prefix `SERIES.column` (multi-column form).
        public var series: String?
        /// Multi-column form: the name of the timestamp column.
        public var timestampColumn: String?
        /// Skip malformed rows (counted) instead of stopping at the first.
        public var skipBad: Bool
        /// Points per `putBatch`.
        public var batch: Int

        public init(series: String? = nil, timestampColumn: String? = nil, skipBad: Bool = false, batch: Int = 1 << 16) {
            self.series = series
            self.timestampColumn = timestampColumn
            self.skipBad = skipBad
            self.batch = max(1, batch)
        }
    }

    public struct Result: Sendable {
        public var points: Int
        public var series: [String]
        public var skippedRows: Int
        /// The first few problems seen while skipping (file:line: reason).
        public var problems: [String]
    }

    /// Reads `path` into `db`. Points read before an error are kept (they are in the WAL).
    /// - Parameter progress: called now and then with (bytes read, file size).
    public static func run(
        db: Database, path: String, options: Options, prepare: (String) throws -> Void = { _ in },
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> Result {
        var reader = try LineReader(path: path)
        guard let headerLine = try reader.next() else {
            throw AliceDBError(.badInput, "empty file (expected a header such as ts,value)", path: path, line: 1)
        }
        let header = headerLine.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: " \t\"")
        }
        var tsIndex = 0
        var columns: [(index: Int, series: String)] = []
        if let tsName = options.timestampColumn {
            guard let i = header.firstIndex(of: tsName) else {
                throw AliceDBError(.badInput, "no column '\(tsName)' in header \(headerLine)", path: path, line: 1)
            }
            tsIndex = i
            for (j, name) in header.enumerated() where j != i {
                guard !name.isEmpty else { throw AliceDBError(.badInput, "column \(j + 1) has no name", path: path, line: 1) }
                columns.append((j, options.series.map { "\($0).\(name)" } ?? name))
            }
        } else {
            guard header.count == 2, Int64(header[0]) == nil else {
                throw AliceDBError(
                    .badInput, "expected the header ts,value (or use --ts-column for several columns), got '\(headerLine)'",
                    path: path, line: 1)
            }
            guard let s = options.series else { throw AliceDBError(.invalidArgument, "a series name is required") }
            columns = [(1, s)]
        }
        guard !columns.isEmpty else { throw AliceDBError(.badInput, "no value columns", path: path, line: 1) }
        for c in columns { try prepare(c.series) }
        var ts = [[Int64]](repeating: [], count: columns.count)
        var vs = [[Double]](repeating: [], count: columns.count)
        for c in columns.indices {
            ts[c].reserveCapacity(options.batch)
            vs[c].reserveCapacity(options.batch)
        }
        var result = Result(points: 0, series: columns.map(\.series), skippedRows: 0, problems: [])
        func flush(_ c: Int) throws {
            guard !ts[c].isEmpty else { return }
            try db.putBatch(columns[c].series, timestamps: ts[c], values: vs[c])
            result.points += ts[c].count
            ts[c].removeAll(keepingCapacity: true)
            vs[c].removeAll(keepingCapacity: true)
        }
        var lastProgress = 0
        while let line = try reader.next() {
            if line.isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            var problem: String? = nil
            if fields.count != header.count {
                problem = "expected \(header.count) fields, found \(fields.count)"
            } else if let t = Int64(fields[tsIndex].trimmingCharacters(in: " \t")) {
                var parsed = [(Int, Double)]()
                for (c, col) in columns.enumerated() {
                    let text = fields[col.index].trimmingCharacters(in: " \t")
                    if text.isEmpty { continue }  // a missing value in a multi-column file
                    guard let v = DoubleText.parse(text) else {
                        problem = "column \(col.index + 1): '\(text.prefix(40))' is not a number"
                        break
                    }
                    parsed.append((c, v))
                }
                if problem == nil {
                    for (c, v) in parsed {
                        ts[c].append(t)
                        vs[c].append(v)
                        if ts[c].count >= options.batch { try flush(c) }
                    }
                }
            } else {
                problem = "'\(fields[tsIndex].prefix(40))' is not an integer timestamp"
            }
            if let problem {
                guard options.skipBad else {
                    for c in columns.indices { try flush(c) }
                    throw AliceDBError(.badInput, problem, path: path, line: reader.lineNumber)
                }
                result.skippedRows += 1
                if result.problems.count < 10 { result.problems.append("\(path):\(reader.lineNumber): \(problem)") }
            }
            if reader.bytesRead - lastProgress >= 1 << 20 {
                lastProgress = reader.bytesRead
                progress(reader.bytesRead, reader.size)
            }
        }
        for c in columns.indices { try flush(c) }
        progress(reader.bytesRead, reader.size)
        return result
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
