internal import AliceFormat

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

        public init(series: String? = nil, timestampColumn: String? = nil, skipBad: Bool = false, batch: Int = 1 << 16)
        {
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
                guard !name.isEmpty else {
                    throw AliceDBError(.badInput, "column \(j + 1) has no name", path: path, line: 1)
                }
                columns.append((j, options.series.map { "\($0).\(name)" } ?? name))
            }
        } else {
            guard header.count == 2, Int64(header[0]) == nil else {
                throw AliceDBError(
                    .badInput,
                    "expected the header ts,value (or use --ts-column for several columns), got '\(headerLine)'",
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
        let fieldCount = header.count
        var starts = [Int](repeating: 0, count: fieldCount + 1)
        var parsed = [Double?](repeating: nil, count: columns.count)
        func text(_ b: UnsafeBufferPointer<UInt8>, _ f: Int) -> String {
            String(decoding: UnsafeBufferPointer(rebasing: b[starts[f]..<(starts[f + 1] - 1)]), as: UTF8.self)
        }
        while true {
            // Parse the line in place; a String is made only for an error message.
            let outcome = try reader.nextBytes { line -> (t: Int64, problem: String?)? in
                if line.isEmpty { return nil }
                var count = 0
                starts[0] = 0
                for (i, c) in line.enumerated() where c == UInt8(ascii: ",") {
                    count += 1
                    if count > fieldCount - 1 { break }
                    starts[count] = i + 1
                }
                guard count == fieldCount - 1 else {
                    let found = line.reduce(1) { $0 + ($1 == UInt8(ascii: ",") ? 1 : 0) }
                    return (0, "expected \(fieldCount) fields, found \(found)")
                }
                starts[fieldCount] = line.count + 1
                func field(_ f: Int) -> UnsafeBufferPointer<UInt8> {
                    UnsafeBufferPointer(rebasing: line[starts[f]..<(starts[f + 1] - 1)])
                }
                guard let t = DoubleText.parseTimestamp(bytes: field(tsIndex)) else {
                    return (0, "'\(text(line, tsIndex).prefix(40))' is not an integer timestamp")
                }
                for (c, col) in columns.enumerated() {
                    let f = field(col.index)
                    if f.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                        parsed[c] = nil  // a missing value in a multi-column file
                        continue
                    }
                    guard let v = DoubleText.parse(bytes: f) else {
                        return (0, "column \(col.index + 1): '\(text(line, col.index).prefix(40))' is not a number")
                    }
                    parsed[c] = v
                }
                return (t, nil)
            }
            guard let lineOutcome = outcome else { break }  // end of file
            guard let (t, problem) = lineOutcome else { continue }  // empty line
            if let problem {
                guard options.skipBad else {
                    for c in columns.indices { try flush(c) }
                    throw AliceDBError(.badInput, problem, path: path, line: reader.lineNumber)
                }
                result.skippedRows += 1
                if result.problems.count < 10 { result.problems.append("\(path):\(reader.lineNumber): \(problem)") }
            } else {
                for c in columns.indices {
                    guard let v = parsed[c] else { continue }
                    ts[c].append(t)
                    vs[c].append(v)
                    if ts[c].count >= options.batch { try flush(c) }
                }
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
