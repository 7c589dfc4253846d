import Foundation
import TestKit
import TestSupport
import Testing

@testable import AliceDB
@testable import AliceFormat

/// Runs the real `alicedb` executable (built beside the tests by `swift build --build-tests`).
enum CLI {
    static let binary: String = {
        if let env = ProcessInfo.processInfo.environment["ALICEDB_BIN"] { return env }
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        for candidate in [
            ".build/debug/alicedb", ".build/x86_64-unknown-linux-gnu/debug/alicedb",
            ".build/aarch64-unknown-linux-gnu/debug/alicedb",
        ] {
            let p = root.appendingPathComponent(candidate).path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return root.appendingPathComponent(".build/debug/alicedb").path
    }()

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    @discardableResult
    static func run(_ args: [String]) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read before waiting so a large output cannot fill the pipe and stall the child.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(
            status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: e, as: UTF8.self))
    }
}

@Suite struct CLITests {
    func parse(_ csv: String) -> [(Int64, UInt64)] {
        csv.split(separator: "\n").dropFirst().map { line in
            let p = line.split(separator: ",")
            return (Int64(p[0])!, DoubleText.parse(p[1])!.bitPattern)
        }
    }

    /// Import then export gives identical timestamps and bits on shared data sets (slices).
    @Test(arguments: ["elf_basel_temp.csv", "ucr_lightning.csv", "beijing_pm25.csv", "hpc_voltage.csv"])
    func importExportLossless(_ name: String) throws {
        let dir = TempDirectory()
        let src = TestData.datasets.appendingPathComponent(name).path
        let imp = try CLI.run(["import", src, "--db", dir.path, "--series", "s"])
        #expect(imp.status == 0, "\(imp.stderr)")
        #expect(imp.stdout.contains("imported"))
        let exp = try CLI.run(["export", "--db", dir.path, "--series", "s"])
        #expect(exp.status == 0)
        let original = try String(contentsOfFile: src, encoding: .utf8)
        let a = parse(original)
        let b = parse(exp.stdout)
        #expect(a.count == b.count)
        #expect(a.elementsEqual(b, by: { $0 == $1 }))
        let verify = try CLI.run(["verify", "--db", dir.path])
        #expect(verify.status == 0, "\(verify.stdout)")
    }

    @Test func boundedImportStaysWithinBoundAndStatsJSON() throws {
        let dir = TempDirectory()
        let src = TestData.datasets.appendingPathComponent("elf_air_pressure.csv").path
        let (_, values) = TestData.load("elf_air_pressure.csv")!
        let bound = (values.max()! - values.min()!) * 0.01
        #expect(try CLI.run(["import", src, "--db", dir.path, "--series", "p", "--max-error", "\(bound)"]).status == 0)
        let exp = try CLI.run(["export", "--db", dir.path, "--series", "p"])
        let got = parse(exp.stdout).map { Double(bitPattern: $0.1) }
        #expect(got.count == values.count)
        #expect(zip(got, values).allSatisfy { abs($0 - $1) <= bound })
        let stats = try CLI.run(["stats", "--db", dir.path, "--format", "json"])
        let json = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as! [String: Any]
        #expect(json["points"] as? Int == values.count)
        #expect((json["bytes"] as? Int ?? 0) > 0)
        #expect((json["bytes_per_point"] as? Double ?? 9) < 1)
        #expect(json["models"] is [String: Any])
        #expect(try CLI.run(["verify", "--db", dir.path]).status == 0)
        let inspect = try CLI.run(["inspect", "--db", dir.path, "--series", "p", "--format", "csv"])
        #expect(
            inspect.stdout.hasPrefix("model,first_ts,last_ts,points,bytes,bytes_per_point,timestamp_bytes,value_bytes"))
        // The parts are the segment's bytes less its header (a few dozen bytes).
        for line in inspect.stdout.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",")
            let (bytes, ts, values) = (Int(f[4])!, Int(f[6])!, Int(f[7])!)
            #expect(ts >= 1 && values >= 1 && ts + values < bytes && bytes - ts - values < 64, "\(line)")
        }
    }

    /// `import --profile fast`: the series keeps the profile (`series`, `stats`), its segments are
    /// format version 2, and the data comes back exactly.
    @Test func fastProfileImport() throws {
        let dir = TempDirectory()
        let src = TestData.datasets.appendingPathComponent("beijing_pm25.csv").path
        let (_, values) = TestData.load("beijing_pm25.csv")!
        #expect(try CLI.run(["import", src, "--db", dir.path, "--series", "p", "--profile", "fast"]).status == 0)
        let got = parse(try CLI.run(["export", "--db", dir.path, "--series", "p"]).stdout).map { $0.1 }
        #expect(got == values.map(\.bitPattern))
        let stats = try CLI.run(["stats", "--db", dir.path, "--format", "json"])
        let json = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as! [String: Any]
        let series = (json["series"] as? [[String: Any]])?.first
        #expect(series?["profile"] as? String == "fast")
        let list = try CLI.run(["series", "--db", dir.path, "--format", "csv"]).stdout
        #expect(list.contains(",fast"), "\(list)")
        func segmentProfiles() throws -> [Substring] {
            try CLI.run(["inspect", "--db", dir.path, "--series", "p", "--format", "csv"]).stdout
                .split(separator: "\n").dropFirst().map { $0.split(separator: ",").last! }
        }
        #expect(try segmentProfiles().allSatisfy { $0 == "fast" } && !segmentProfiles().isEmpty)
        #expect(try CLI.run(["verify", "--db", dir.path]).status == 0)
        // Back to compact: the series says so, and new segments are compact (version 1) again.
        #expect(try CLI.run(["series", "--db", dir.path, "--series", "p", "--profile", "compact"]).status == 0)
        #expect(!(try CLI.run(["series", "--db", dir.path, "--format", "csv"]).stdout.contains(",fast")))
        #expect(try CLI.run(["import", src, "--db", dir.path, "--series", "q"]).status == 0)
        let q = try CLI.run(["inspect", "--db", dir.path, "--series", "q", "--format", "csv"]).stdout
        #expect(q.split(separator: "\n").dropFirst().allSatisfy { $0.hasSuffix(",compact") }, "\(q)")
    }

    /// `import --time-tolerance 25`: the series keeps it (`series`, `stats`), each segment says it
    /// (`inspect`), exported timestamps are within it, and a bad value is refused.
    @Test func timeToleranceImport() throws {
        let dir = TempDirectory()
        let ts = TimeToleranceTests.arrivals(3000, seed: 7)
        let src = dir.path + "/arrivals.csv"
        try ("ts,value\n" + ts.enumerated().map { "\($1),\($0 % 10)\n" }.joined()).write(
            toFile: src, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["import", src, "--db", dir.path, "--series", "a", "--time-tolerance", "25"]).status == 0)
        let got = parse(try CLI.run(["export", "--db", dir.path, "--series", "a"]).stdout)
        #expect(got.count == ts.count && zip(got, ts).allSatisfy { abs($0.0 - $1) <= 25 })
        let stats = try CLI.run(["stats", "--db", dir.path, "--format", "json"])
        let json = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as! [String: Any]
        #expect((json["series"] as? [[String: Any]])?.first?["time_tolerance"] as? Int == 25)
        #expect(try CLI.run(["stats", "--db", dir.path, "--format", "csv"]).stdout.contains(",±25,"))
        #expect(try CLI.run(["series", "--db", dir.path, "--format", "csv"]).stdout.contains(",±25,"))
        let inspect = try CLI.run(["inspect", "--db", dir.path, "--series", "a", "--format", "csv"]).stdout
        #expect(inspect.split(separator: "\n").first?.contains("max_time_error,time_tolerance") == true)
        #expect(inspect.split(separator: "\n").dropFirst().allSatisfy { $0.contains(",±25,") }, "\(inspect)")
        #expect(try CLI.run(["verify", "--db", dir.path]).status == 0)
        #expect(try CLI.run(["import", src, "--db", dir.path, "--series", "b", "--time-tolerance", "-3"]).status != 0)
    }

    /// A folder under `dir` holding one real slice (hpc_voltage) for `bench`.
    func benchFolder(_ dir: TempDirectory) throws -> String {
        let data = dir.path + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: TestData.datasets.appendingPathComponent("hpc_voltage.csv").path,
            toPath: data + "/hpc_voltage.csv")
        return data
    }

    /// `bench` on a folder of one real slice: a row per bound, every database verified; with
    /// `--no-lossless` only the lossy bound is run.
    @Test func benchRowsPerBound() throws {
        let dir = TempDirectory()
        let data = try benchFolder(dir)
        func rows(_ extra: [String]) throws -> [[Substring]] {
            let out = try CLI.run(
                ["bench", data, "--work-dir", dir.path + "/work", "--repeats", "1", "--format", "csv"] + extra)
            #expect(out.status == 0, "\(out.stderr)")
            return out.stdout.split(separator: "\n").dropFirst().map {
                $0.split(separator: ",", omittingEmptySubsequences: false)
            }
            .filter { $0.first == "hpc_voltage" }
        }
        let all = try rows([])
        try #require(all.map { $0.count > 3 ? $0[2] : "" } == ["0", "1.00%", "0.10%"])
        #expect(all.allSatisfy { $0.last == "ok" && (Double($0[3]) ?? 0) > 0 })
        let lossy = try rows(["--no-lossless", "--second-fraction", "0"])
        try #require(lossy.map { $0.count > 3 ? $0[2] : "" } == ["1.00%"])
        #expect(lossy[0][3] == all[1][3])  // the same bytes whether or not bound 0 ran first
    }

    /// `bench --pcodec PYTHON`: pcodec timed on the same files and printed beside ours, with the
    /// median ratios; a Python without pcodec is a clear error. The side-by-side half needs the peers'
    /// environment (`../shared/tools/setup-peers.sh`) and is skipped, visibly, without it.
    @Test func benchBesidePcodec() throws {
        let dir = TempDirectory()
        let data = try benchFolder(dir)
        let script = TestData.repository.appendingPathComponent("scripts/pcodec_speed.py").path
        let base = ["bench", data, "--work-dir", dir.path + "/work", "--repeats", "1", "--second-fraction", "0"]
        let missing = try CLI.run(
            base + ["--no-lossless", "--pcodec", dir.path + "/no-python", "--pcodec-script", script])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("setup-peers.sh"), "\(missing.stderr)")
        let python = NSHomeDirectory() + "/.cache/alicedb-peers/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            print("benchBesidePcodec: no \(python) (../shared/tools/setup-peers.sh): the side-by-side half is skipped")
            return
        }
        let out = try CLI.run(base + ["--pcodec", python, "--pcodec-script", script, "--format", "csv"])
        #expect(out.status == 0, "\(out.stderr)")
        let side = out.stdout.components(separatedBy: "\n\n").last ?? ""
        #expect(side.hasPrefix("dataset,bound,bytes/pt,pcodec_bytes/pt,encode_pts/s,pcodec_pts/s,encode_ratio"))
        let rows = side.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows.filter { $0.first == "hpc_voltage" }.map { $0[1] } == ["0", "1.00%"], "\(side)")
        let medians = rows.filter { $0.first == "MEDIAN" }
        #expect(medians.count == 2 && medians.allSatisfy { (Double($0[6]) ?? 0) > 0 && (Double($0[9]) ?? 0) > 0 })
    }

    /// Files as exports write them: newest first, duplicate rows, blanks, whole timestamps written as
    /// floats, CRLF lines; the bench measures them (in time order) instead of failing or trapping.
    @Test func benchTakesRowsAsExportsWriteThem() throws {
        let dir = TempDirectory()
        let data = dir.path + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        var rng = TestRNG(seed: 3)
        var rows = (0..<3000).map { i in
            "\(1_700_000_000_000 + i * 60_000).0, \(Double(200 + Int(rng.next() % 50)) / 10)\r"
        }
        rows += rows.prefix(40)  // the same readings twice
        try ("ts,value\r\n" + rows.reversed().joined(separator: "\n") + "\n").write(
            toFile: data + "/export.csv", atomically: true, encoding: .utf8)
        let out = try CLI.run(["bench", data, "--work-dir", dir.path + "/work", "--repeats", "1", "--format", "csv"])
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.stdout.split(separator: "\n").filter { $0.hasPrefix("export,") }
        #expect(
            lines.count == 3 && lines.allSatisfy { $0.hasPrefix("export,3040,") && $0.hasSuffix(",ok") },
            "\(out.stdout)")
    }

    @Test func queriesAgreeWithTheData() throws {
        let dir = TempDirectory()
        let csv = dir.path + "/in.csv"
        try "ts,value\n1,1.5\n2,2.5\n3,-4\n10,8\n".write(toFile: csv, atomically: true, encoding: .utf8)
        #expect(try CLI.run(["import", csv, "--db", dir.path, "--series", "x"]).status == 0)
        #expect(
            try CLI.run(["get", "--db", dir.path, "--series", "x", "--at", "2", "--format", "csv"]).stdout
                == "ts,value\n2,2.5\n")
        #expect(try CLI.run(["get", "--db", dir.path, "--series", "x", "--at", "4"]).status == 1)
        let agg = try CLI.run(["agg", "--db", dir.path, "--series", "x", "--format", "json"])
        #expect(
            agg.stdout.contains("\"count\": 4") && agg.stdout.contains("\"sum\": 8.0")
                && agg.stdout.contains("\"min\": -4.0"))
        let ds = try CLI.run([
            "downsample", "--db", dir.path, "--series", "x", "--interval", "5", "--fn", "sum", "--format", "csv",
        ])
        #expect(ds.stdout == "ts,sum\n1,0.0\n6,8.0\n")
        let scan = try CLI.run([
            "scan", "--db", dir.path, "--series", "x", "--from", "2", "--to", "3", "--format", "csv",
        ])
        #expect(scan.stdout == "ts,value\n2,2.5\n3,-4.0\n")
    }

    @Test func malformedCSVNamesTheLine() throws {
        let dir = TempDirectory()
        let csv = dir.path + "/bad.csv"
        try "ts,value\n1,1.5\n2,abc\n3,4\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let r = try CLI.run(["import", csv, "--db", dir.path + "/db", "--series", "x"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("bad.csv:3"))
        #expect(r.stderr.contains("abc"))
        // The rows before the bad one were kept; --skip-bad imports the rest.
        let ok = try CLI.run(["import", csv, "--db", dir.path + "/db2", "--series", "x", "--skip-bad"])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("imported 2 points"))
        #expect(ok.stdout.contains("1 rows skipped"))
    }

    @Test func multiColumnImport() throws {
        let dir = TempDirectory()
        let csv = dir.path + "/multi.csv"
        try "time,temp,hum\n1,20.5,40\n2,20.6,\n3,20.7,42\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let r = try CLI.run(["import", csv, "--db", dir.path + "/db", "--ts-column", "time", "--series", "room"])
        #expect(r.status == 0, "\(r.stderr)")
        let hum = try CLI.run(["export", "--db", dir.path + "/db", "--series", "room.hum"])
        #expect(hum.stdout == "ts,value\n1,40.0\n3,42.0\n")
    }

    @Test func secondWriterGetsAClearError() throws {
        let dir = TempDirectory()
        let db = try Database(path: dir.path)
        try db.put("x", 1, 1)
        let csv = dir.path + "/in.csv"
        try "ts,value\n1,1\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let r = try CLI.run(["import", csv, "--db", dir.path, "--series", "y"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("open for writing by another process"))
        // Read-only queries work meanwhile, and see the writer's unflushed point.
        try db.sync()
        #expect(try CLI.run(["export", "--db", dir.path, "--series", "x"]).stdout == "ts,value\n1,1.0\n")
        try db.close()
    }

    /// SIGKILL in the middle of a long import: the database reopens, verifies, and holds a prefix
    /// of the input with at most the last sync interval missing.
    @Test func sigkillDuringImportLosesOnlyUnsyncedPoints() async throws {
        let dir = TempDirectory()
        let csv = dir.path + "/long.csv"
        var text = "ts,value\n"
        let n = 3_000_000
        text.reserveCapacity(n * 16)
        for i in 0..<n { text += "\(i),\(Double(i % 1000) / 8)\n" }
        try text.write(toFile: csv, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["import", csv, "--db", dir.path + "/db", "--series", "k"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Kill it mid-import once some data is durable (segment frames past a file header), from a
        // watch on a thread of its own (see `watchOnThread`).
        let segments = dir.path + "/db/segments"
        let pid = p.processIdentifier
        try await watchOnThread(timeout: .seconds(60), "the import's first segments on disk") {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: segments)) ?? []
            let bytes = files.compactMap {
                (try? FileManager.default.attributesOfItem(atPath: segments + "/" + $0)[.size] as? NSNumber)?.intValue
            }
            return bytes.reduce(0, +) >= 512 || !p.isRunning
        } then: {
            // An import that ended first is not killed: its pid may be reaped and reused already.
            if p.isRunning { kill(pid, SIGKILL) }
        }
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal)
        let db = try Database(path: dir.path + "/db")
        let got = try db.scan("k")
        #expect(got.count > 0)
        #expect(got.count < n)
        for (i, point) in got.enumerated() where point.timestamp != Int64(i) || point.value != Double(i % 1000) / 8 {
            Issue.record("point \(i) is \(point), not a prefix of the input")
            break
        }
        #expect(try db.verify().ok)
        try db.close()
    }
}

@Suite struct DiskFullTests {
    /// A write that fails (here: a file-size limit, as a full SD card would) is an error, and
    /// everything stored before it stays readable.
    @Test func fullDiskIsAnErrorAndLosesNothingStored() throws {
        let dir = TempDirectory()
        let src = TestData.datasets.appendingPathComponent("elf_basel_temp.csv").path
        // First a complete series.
        #expect(try CLI.run(["import", src, "--db", dir.path + "/db", "--series", "first"]).status == 0)
        // Then an import under a 64 KiB file-size limit: the WAL hits it.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [
            "-c", "ulimit -f 64; exec \"$0\" import \"$1\" --db \"$2\" --series second", CLI.binary, src,
            dir.path + "/db",
        ]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 1)
        #expect(message.contains("File too large") || message.contains("No space"), "\(message)")
        let db = try Database(path: dir.path + "/db")
        #expect(try db.scan("first").count == TestData.load("elf_basel_temp.csv")!.ts.count)
        #expect(try db.verify().ok)
        try db.close()
    }
}
