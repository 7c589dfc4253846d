import AliceFormat
import Foundation
import Logging

@testable import AliceDB

/// One run of a gateway's life for the crash-recovery property: three sessions of put → flush →
/// ship and acknowledge → close, then in the last compaction, retention, more puts and a flush,
/// a shipment, and a crash instead of a close. Every call that returns is noted in the `Ledger`:
/// what the database was told and what it acknowledged.
///
/// "Acknowledged as durable" (the engine's contract with `SyncPolicy.everyWrite`): every point of a
/// `putBatch` that returned. A point whose `putBatch` threw may or may not be there after a crash,
/// but at most once and with its value. Retention may delete points older than `cutoff` that were
/// shipped; an `applyRetention` that returned is durable. An `acknowledge` that returned means
/// those segments are never shipped again; a segment is shipped only once it is durable.
struct CrashWorkload {
    struct Key: Hashable, Comparable, CustomStringConvertible {
        var series: String
        var t: Int64
        static func < (a: Key, b: Key) -> Bool { (a.series, a.t) < (b.series, b.t) }
        var description: String { "\(series)@\(t)" }
    }

    /// What the run told the database and what it acknowledged.
    struct Ledger {
        /// Every point put, whether the put returned or not.
        var written: [Key: Double] = [:]
        /// Points whose `putBatch` returned.
        var acknowledged: Set<Key> = []
        /// Points older than the cutoff visible right after an `applyRetention` that returned.
        var keptByRetention: Set<Key>?
        var retentionTried = false
        /// Points of batches handed to the receiver, and of those whose `acknowledge` returned.
        var sent: Set<Key> = []
        var shipped: Set<Key> = []
        /// What each step did, for the failure message.
        var steps: [String] = []
    }

    static let series = ["a", "b"]
    /// Retention deletes shipped segments whose points are all older than this.
    static let cutoff: Int64 = 100_000

    static func value(_ series: String, _ i: Int) -> Double {
        Double((i * (series == "a" ? 37 : 53)) % 101) / 8 + (series == "a" ? 0 : 1000)
    }

    static var options: DatabaseOptions {
        var o = DatabaseOptions(
            sync: .everyWrite, defaultCapacity: 64, maxBufferAgeSeconds: nil,
            logger: Logger(label: "crash", factory: { _ in SwiftLogNoOpLogHandler() }), walMaxBytes: nil)
        o.outbox = true
        o.maintenanceTimer = false
        return o
    }

    let path: String
    let disk: FaultyDisk
    var ledger = Ledger()

    /// Runs a step unless the power is off; notes whether it returned.
    mutating func step(_ name: String, _ body: (inout Ledger) throws -> Void) {
        guard !disk.dead else { return }
        do {
            try body(&ledger)
            ledger.steps.append(name)
        } catch {
            ledger.steps.append("\(name): \(error)")
        }
    }

    mutating func put(_ db: Database, from: Int, to: Int) {
        for start in stride(from: from, to: to, by: 50) {
            for s in CrashWorkload.series {
                let idx = Array(start..<min(start + 50, to))
                let keys = idx.map { Key(series: s, t: Int64($0) * 1000) }
                for (k, i) in zip(keys, idx) { ledger.written[k] = CrashWorkload.value(s, i) }
                step("put \(s) \(start)") { l in
                    try db.putBatch(s, timestamps: keys.map(\.t), values: idx.map { CrashWorkload.value(s, $0) })
                    l.acknowledged.formUnion(keys)
                }
            }
        }
    }

    /// The points of an outbox batch.
    static func points(_ batch: OutboxBatch) throws -> Set<Key> {
        var out = Set<Key>()
        for e in try batch.decoded().entries {
            for t in try SegmentFormat.decode(e.segment).timestamps { out.insert(Key(series: e.series, t: t)) }
        }
        return out
    }

    /// Ships everything the outbox holds, acknowledging each batch.
    static func ship(_ db: Database, sent: inout Set<Key>, shipped: inout Set<Key>) throws {
        while true {
            let b = try db.outbox(maxBytes: 2048)
            let p = try points(b)
            sent.formUnion(p)
            try db.acknowledge(b)
            shipped.formUnion(p)
            if b.isEmpty { return }
        }
    }

    mutating func session(_ body: (inout CrashWorkload, Database) -> Void, close: Bool = true) {
        guard !disk.dead else { return }
        var opened: Database?
        let path = self.path
        step("open") { _ in opened = try Database(path: path, options: CrashWorkload.options) }
        guard let db = opened else { return }
        body(&self, db)
        if close { step("close") { _ in try db.close() } }
    }

    /// The whole run; the database is dropped at the end as by a crash (nothing more reaches the disk).
    mutating func run() {
        for range in [0..<150, 150..<300] {
            session { w, db in
                w.put(db, from: range.lowerBound, to: range.upperBound)
                w.step("flush") { _ in try db.flush() }
                w.step("ship") { l in try CrashWorkload.ship(db, sent: &l.sent, shipped: &l.shipped) }
            }
        }
        session(
            { w, db in
                w.step("compact") { _ in try db.compact(smallBytes: 1 << 30) }
                w.step("retention") { l in
                    l.retentionTried = true
                    try db.applyRetention(olderThan: CrashWorkload.cutoff)
                    var kept = Set<Key>()
                    for s in CrashWorkload.series {
                        for p in try db.scan(s, to: CrashWorkload.cutoff - 1) {
                            kept.insert(Key(series: s, t: p.timestamp))
                        }
                    }
                    l.keptByRetention = kept
                }
                w.put(db, from: 300, to: 400)
                w.step("flush") { _ in try db.flush() }
                w.put(db, from: 400, to: 450)
                w.step("ship") { l in try CrashWorkload.ship(db, sent: &l.sent, shipped: &l.shipped) }
                w.disk.cutPower()
            }, close: false)
        disk.cutPower()
    }

    /// Opens the database at `dir` as a restart after the crash would, and checks the property:
    /// every acknowledged point there exactly once with its value, nothing that was never written,
    /// no partial segment (`verify`), nothing acknowledged shipped again, nothing lost to the uplink.
    /// - Returns: what is wrong (empty: all is well).
    static func check(_ dir: String, _ ledger: Ledger) -> [String] {
        var problems = [String]()
        let db: Database
        do { db = try Database(path: dir, options: options) } catch { return ["reopen failed: \(error)"] }
        var seen = [Key: Int]()
        for s in series {
            guard db.series(named: s) != nil else { continue }
            do {
                for p in try db.scan(s) {
                    let k = Key(series: s, t: p.timestamp)
                    seen[k, default: 0] += 1
                    if let v = ledger.written[k], v.bitPattern != p.value.bitPattern {
                        problems.append("\(k) reads \(p.value), written \(v)")
                    } else if ledger.written[k] == nil {
                        problems.append("\(k) was never written")
                    }
                }
            } catch { problems.append("scan \(s) failed: \(error)") }
        }
        let twice = seen.filter { $0.value > 1 }.keys.sorted()
        if !twice.isEmpty { problems.append("\(twice.count) points more than once, first \(twice[0])") }
        var missing = [Key]()
        for k in ledger.acknowledged.sorted() where seen[k] == nil {
            if k.t < cutoff && ledger.retentionTried && ledger.sent.contains(k) {
                if let kept = ledger.keptByRetention, kept.contains(k) { missing.append(k) }
            } else {
                missing.append(k)
            }
        }
        if !missing.isEmpty { problems.append("\(missing.count) acknowledged points lost, first \(missing[0])") }
        if let kept = ledger.keptByRetention {
            let back = seen.keys.filter { $0.t < cutoff && !kept.contains($0) && ledger.acknowledged.contains($0) }
            if !back.isEmpty { problems.append("\(back.count) points deleted by retention came back") }
        }
        let lostToUplink = ledger.sent.filter { seen[$0] == nil && !($0.t < cutoff && ledger.retentionTried) }
        if !lostToUplink.isEmpty {
            problems.append("\(lostToUplink.count) shipped points are not stored, first \(lostToUplink.min()!)")
        }
        do {
            let report = try db.verify()
            if !report.ok { problems.append("verify: \(report.faults.prefix(3))") }
            try db.flush()
            var drained = Set<Key>()
            var acked = Set<Key>()
            try ship(db, sent: &drained, shipped: &acked)
            let again = drained.intersection(ledger.shipped)
            if !again.isEmpty {
                problems.append("\(again.count) acknowledged points shipped again, first \(again.min()!)")
            }
            let never = seen.keys.filter { !drained.contains($0) && !ledger.sent.contains($0) }
            if !never.isEmpty { problems.append("\(never.count) stored points never shipped, first \(never.min()!)") }
            try db.close()
            let ro = try Database(path: dir, options: DatabaseOptions(readOnly: true, logger: options.logger))
            let after = try ro.verify()
            if !after.ok { problems.append("verify after close: \(after.faults.prefix(3))") }
        } catch { problems.append("after reopen: \(error)") }
        return problems
    }
}
