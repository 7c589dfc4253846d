import Foundation
import TestKit
import Testing

@testable import AliceDB

#if canImport(Glibc)
    import Glibc
#endif

/// The crash-recovery property over every injection point of one run (`CrashWorkload`): each
/// change of the disk failed with EIO or ENOSPC, the power cut before each change, and writes torn
/// at byte offsets. After each, the directory is reopened twice — as the run left it (every write
/// survived: a process crash) and as a power cut would leave it (only what was synced,
/// `FaultyDisk`) — and checked. `ALICEDB_FAULT_SWEEP=full` tears every write at every byte offset
/// and takes every injection point; by default the tears take a few offsets per write and the
/// other sweeps a stride (docs/reliability.md has the figures of both).
@Suite struct FaultInjectionTests {
    static let full = ProcessInfo.processInfo.environment["ALICEDB_FAULT_SWEEP"] == "full"
    /// Print the counts and times (any `ALICEDB_FAULT_SWEEP`).
    static let figures = ProcessInfo.processInfo.environment["ALICEDB_FAULT_SWEEP"] != nil

    struct Outcome {
        var fired: String?
        var problems: [String]
    }

    /// One run under `plan`, then both reopenings checked.
    static func trial(_ plan: FaultPlan) throws -> (outcome: Outcome, disk: FaultyDisk) {
        let dir = TempDirectory()
        let path = dir.path + "/db"
        let disk = FaultyDisk(root: dir.path, plan: plan)
        disk.install()
        var w = CrashWorkload(path: path, disk: disk)
        w.run()
        disk.uninstall()
        let cut = TempDirectory()
        try disk.materializePowerCut(into: cut.path)
        // The checks go through a fault-free injector too: it leaves the real fsyncs out.
        var problems = [String]()
        for (name, root) in [("process crash", dir.path), ("power cut", cut.path)] {
            let quiet = FaultyDisk(root: root)
            quiet.install()
            defer { quiet.uninstall() }
            problems += CrashWorkload.check(root + "/db", w.ledger).map { "\(name): \($0)" }
        }
        if !problems.isEmpty { problems.append("steps: \(w.ledger.steps.joined(separator: "; "))") }
        return (Outcome(fired: disk.fired, problems: problems), disk)
    }

    /// Runs every plan; records the first few that break the property.
    static func sweep(_ plans: [FaultPlan], _ name: String = #function) throws -> Int {
        let start = ContinuousClock.now
        defer {
            if figures { print("fault sweep \(name): \(plans.count) injection points, \(ContinuousClock.now - start)") }
        }
        var failures = 0
        for (i, plan) in plans.enumerated() {
            if figures && i > 0 && i % 1000 == 0 {
                let elapsed = ContinuousClock.now - start
                print("fault sweep \(name): \(i) of \(plans.count), \(failures) failing, \(elapsed)")
            }
            let (o, _) = try trial(plan)
            guard !o.problems.isEmpty else { continue }
            failures += 1
            if failures <= 5 {
                Issue.record("\(plan) [\(o.fired ?? "not reached")]: \(o.problems.joined(separator: " | "))")
            }
        }
        return failures
    }

    /// The counting run: how many changes of each kind, and the writes.
    static let baseline: FaultyDisk? = try? trial(.none).disk

    /// Every `stride`th of `1...n`, always with the first and last.
    static func pick(_ n: Int, every stride: Int) -> [Int] {
        guard n > 0 else { return [] }
        let every: [Int] = Array(Swift.stride(from: 1, through: n, by: max(1, stride)))
        return Set(every + [n]).sorted()
    }

    @Test func runWithoutFaultsKeepsEverything() throws {
        let (o, disk) = try FaultInjectionTests.trial(.none)
        #expect(o.problems.isEmpty, "\(o.problems)")
        #expect(disk.total > 100, "the run makes \(disk.total) changes: \(disk.counts)")
        if FaultInjectionTests.figures {
            let kinds = FileIO.Change.allCases.map { "\($0) \(disk.counts[$0, default: 0])" }.joined(separator: ", ")
            print(
                "fault run: \(disk.total) changes (\(kinds)), \(disk.writes.reduce(0) { $0 + $1.count }) bytes written")
        }
        for kind in [FileIO.Change.write, .sync, .rename, .unlink, .create, .truncate] {
            #expect(disk.counts[kind, default: 0] > 0, "no \(kind) in the run")
        }
    }

    /// Where compaction puts its file in place in the counting run: the change numbers (from 1,
    /// over all kinds) of its rename, and the sync of the directory after it removed the old files.
    static func compactionChanges() throws -> (rename: Int, lastSync: Int, syncKind: Int) {
        let log = try #require(baseline).log
        let rename = try #require(log.firstIndex { $0.change == .rename && $0.path.hasSuffix(".seg.tmp") })
        let unlink = try #require(log[rename...].firstIndex { $0.change == .unlink })
        let sync = try #require(log[unlink...].firstIndex { $0.change == .sync })
        return (rename + 1, sync + 1, log[...sync].filter { $0.change == .sync }.count)
    }

    /// Found by the sweep: a failed directory sync after compaction had removed the old files
    /// left the index naming them and not the new file, whose number the next flush then took —
    /// truncating the merged file, with every point it held (400 acknowledged points here).
    @Test(arguments: [EIO, ENOSPC])
    func failedSyncAfterCompactionKeepsTheMergedFile(errno: Int32) throws {
        let n = try FaultInjectionTests.compactionChanges().syncKind
        let (o, _) = try FaultInjectionTests.trial(.fail(.sync, n: n, errno: errno))
        #expect(o.fired?.contains("/db/segments") == true, "\(o.fired ?? "not reached")")
        #expect(o.problems.isEmpty, "\(o.problems)")
    }

    /// Found by the sweep: compaction marked its file shipped only after putting it in place, so
    /// a power cut in between shipped every point of the merged (acknowledged) files again.
    @Test func powerCutRightAfterCompactionShipsNothingAgain() throws {
        let c = try FaultInjectionTests.compactionChanges()
        for n in (c.rename + 1)...(c.lastSync + 1) {
            let (o, _) = try FaultInjectionTests.trial(.crash(n: n))
            #expect(o.problems.isEmpty, "power cut at change #\(n) [\(o.fired ?? "not reached")]: \(o.problems)")
        }
    }

    /// Found by the full sweep: a failed sync of the directory after a new WAL or segment file
    /// was created left the engine appending to a file whose name was not durable, and syncing
    /// that file, not the directory, before acknowledging puts (100 points lost to a power cut)
    /// and shipping its frames (shipped again after the power cut). Every directory sync of the
    /// run fails here once.
    @Test func failedDirectorySyncsLoseNothing() throws {
        let log = try #require(FaultInjectionTests.baseline).log
        let syncs = log.filter { $0.change == .sync }
        var plans = [FaultPlan]()
        for (k, c) in syncs.enumerated() where !c.path.hasSuffix(".log") && !c.path.contains(".seg") {
            if !c.path.hasSuffix(".json.tmp") && c.path != "/db/LOCK" {
                plans.append(.fail(.sync, n: k + 1, errno: EIO))
            }
        }
        #expect(plans.count > 10)
        #expect(try FaultInjectionTests.sweep(plans) == 0)
    }

    @Test func powerCutBeforeEveryChange() throws {
        let total = try #require(FaultInjectionTests.baseline).total
        let plans = FaultInjectionTests.pick(total, every: FaultInjectionTests.full ? 1 : 5).map {
            FaultPlan.crash(n: $0)
        }
        #expect(try FaultInjectionTests.sweep(plans) == 0)
    }

    @Test(arguments: [EIO, ENOSPC])
    func everyChangeFailsAndTheRunGoesOn(errno: Int32) throws {
        let counts = try #require(FaultInjectionTests.baseline).counts
        var plans = [FaultPlan]()
        for kind in FileIO.Change.allCases {
            let n = counts[kind, default: 0]
            plans += FaultInjectionTests.pick(n, every: FaultInjectionTests.full ? 1 : 8).map {
                FaultPlan.fail(kind, n: $0, errno: errno)
            }
        }
        #expect(try FaultInjectionTests.sweep(plans) == 0)
    }

    @Test func tornWrites() throws {
        let writes = try #require(FaultInjectionTests.baseline).writes
        var plans = [FaultPlan]()
        for (i, w) in writes.enumerated() {
            let offsets: [Int]
            if FaultInjectionTests.full {
                offsets = Array(0..<w.count)
            } else {
                guard i % 5 == 0 else { continue }
                let some: [Int] = [0, 5, w.count / 2, w.count - 1]
                offsets = Set(some.filter { $0 >= 0 && $0 < w.count }).sorted()
            }
            for k in offsets {
                plans.append(.tear(write: i + 1, keep: k, errno: EIO, crash: true))
                if k == w.count / 2 { plans.append(.tear(write: i + 1, keep: k, errno: ENOSPC, crash: false)) }
            }
        }
        #expect(try FaultInjectionTests.sweep(plans) == 0)
    }
}
