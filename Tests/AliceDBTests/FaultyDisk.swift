import Foundation
import Synchronization

@testable import AliceDB

#if canImport(Glibc)
    import Glibc
#endif

/// Where a run is hit: the Nth change of a kind fails (and the run goes on), the power goes at the
/// Nth change of any kind, or the Nth write puts only part of its bytes down.
enum FaultPlan: Sendable, CustomStringConvertible {
    case none
    /// Change `n` (from 1) of `kind` fails with `errno`; the engine carries on.
    case fail(FileIO.Change, n: Int, errno: Int32)
    /// The power goes just before change `n` (from 1, counting every kind): it and all later ones fail.
    case crash(n: Int)
    /// Write `n` puts its first `keep` bytes down, then fails with `errno` (`crash`: and the power goes).
    case tear(write: Int, keep: Int, errno: Int32, crash: Bool)

    var description: String {
        func name(_ e: Int32) -> String { e == EIO ? "EIO" : e == ENOSPC ? "ENOSPC" : "errno \(e)" }
        switch self {
        case .none: return "no fault"
        case .fail(let kind, let n, let e): return "\(kind) #\(n) fails with \(name(e))"
        case .crash(let n): return "power cut at change #\(n)"
        case .tear(let w, let keep, let e, let crash):
            return "write #\(w) torn after \(keep) bytes, " + (crash ? "then power cut" : "then \(name(e))")
        }
    }
}

/// A fault injector over one directory that also models what a power cut would leave there.
///
/// The model, kept from what the file layer reports after each change (`FileFaultInjector`):
/// a file's contents are durable as of its last successful `fsync` (read back at that moment), and
/// a name in a directory — a create, rename, unlink or mkdir — as of the directory's next `fsync`.
/// Nothing else survives: not written-but-unsynced bytes, not a synced file whose name was never
/// made durable. (The other extreme, every write surviving, is the directory as the run left it.)
/// A failed `fsync` makes nothing durable; a later successful one makes everything written durable
/// (the kernel keeping dirty pages after a write-back error is not modelled: see docs/reliability.md).
final class FaultyDisk: FileFaultInjector {
    private struct State: Sendable {
        var plan: FaultPlan
        var counts: [FileIO.Change: Int] = [:]
        var total = 0
        var dead = false
        var fired: String?
        /// Every write seen: its file and size (the counting run picks tears from these).
        var writes: [(path: String, count: Int)] = []
        /// Every change seen, in order (relative paths).
        var log: [(change: FileIO.Change, path: String, to: String?)] = []
        var nextInode = 1
        var live: [String: Int] = [:]
        var liveDirs: Set<String> = []
        var durable: [String: Int] = [:]
        var durableDirs: Set<String> = []
        var contents: [Int: [UInt8]] = [:]
    }

    let root: String
    private let state: Mutex<State>

    /// Over the existing tree at `root`, taken as durable as it is.
    init(root: String, plan: FaultPlan = .none) {
        let root = FaultyDisk.normal(root)
        self.root = root
        var s = State(plan: plan)
        var stack = [root]
        while let dir = stack.popLast() {
            for name in (try? FileIO.list(dir)) ?? [] {
                let p = dir + "/" + name
                var isDir: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: p, isDirectory: &isDir)
                if isDir.boolValue {
                    s.liveDirs.insert(p)
                    stack.append(p)
                } else {
                    s.live[p] = s.nextInode
                    s.contents[s.nextInode] = (try? FileIO.readFile(p)) ?? []
                    s.nextInode += 1
                }
            }
        }
        s.durable = s.live
        s.durableDirs = s.liveDirs
        state = Mutex(s)
    }

    /// Routes the file layer's changes under `root` through this injector until `uninstall`.
    func install() { FileIO.install(self, under: root) }
    func uninstall() { FileIO.uninstall(under: root) }

    /// The power is off: every change fails.
    var dead: Bool { state.withLock { $0.dead } }
    func cutPower() { state.withLock { $0.dead = true } }
    /// The change the plan hit (nil: it never came).
    var fired: String? { state.withLock { $0.fired } }
    var counts: [FileIO.Change: Int] { state.withLock { $0.counts } }
    var total: Int { state.withLock { $0.total } }
    var writes: [(path: String, count: Int)] { state.withLock { $0.writes } }
    var log: [(change: FileIO.Change, path: String, to: String?)] { state.withLock { $0.log } }

    static func normal(_ path: String) -> String {
        var p = path
        while p.contains("//") { p = p.replacingOccurrences(of: "//", with: "/") }
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    func willChange(_ change: FileIO.Change, path: String, to: String?, count: Int) -> FileIO.Injection {
        state.withLock { s in
            if s.dead { return .fail(EIO) }
            s.total += 1
            s.counts[change, default: 0] += 1
            let k = s.counts[change]!
            if change == .write { s.writes.append((FaultyDisk.normal(path), count)) }
            s.log.append((change, String(path.dropFirst(root.count)), to.map { String($0.dropFirst(root.count)) }))
            let here = "\(change) #\(k) (change #\(s.total)) of \(path.dropFirst(root.count))"
            switch s.plan {
            case .fail(let kind, let n, let e) where kind == change && n == k:
                s.fired = here
                return .fail(e)
            case .crash(let n) where n == s.total:
                s.fired = here
                s.dead = true
                return .fail(EIO)
            case .tear(let w, let keep, let e, let crash) where change == .write && w == k:
                s.fired = here + ", \(keep) of \(count) bytes"
                if crash { s.dead = true }
                return .tear(keep: keep, errno: crash ? EIO : e)
            default:
                // The model, not the disk, says what a power cut keeps: no need to wait for the disk.
                return change == .sync ? .skip : .proceed
            }
        }
    }

    func didChange(_ change: FileIO.Change, path: String, to: String?) {
        let p = FaultyDisk.normal(path)
        state.withLock { s in
            switch change {
            case .create:
                if s.live[p] == nil {
                    s.live[p] = s.nextInode
                    s.nextInode += 1
                }
            case .rename:
                guard let to, let inode = s.live.removeValue(forKey: p) else { return }
                s.live[FaultyDisk.normal(to)] = inode
            case .unlink:
                if s.live.removeValue(forKey: p) == nil { s.liveDirs.remove(p) }
            case .mkdir:
                s.liveDirs.insert(p)
            case .sync:
                if p == root || s.liveDirs.contains(p) {
                    // A directory: its entries as they are now become what a power cut keeps.
                    let names = Set(s.live.keys).union(s.durable.keys).filter { FaultyDisk.parent($0) == p }
                    for n in names { s.durable[n] = s.live[n] }
                    let dirs = s.liveDirs.union(s.durableDirs).filter { FaultyDisk.parent($0) == p }
                    for d in dirs {
                        if s.liveDirs.contains(d) { s.durableDirs.insert(d) } else { s.durableDirs.remove(d) }
                    }
                } else if let inode = s.live[p] {
                    s.contents[inode] = (try? FileIO.readFile(p)) ?? []
                }
            case .write, .truncate:
                break
            }
        }
    }

    /// Writes what a power cut now would leave of the tree into `dst` (an empty directory).
    func materializePowerCut(into dst: String) throws {
        let s = state.withLock { $0 }
        func reachable(_ dir: String) -> Bool {
            dir == root || (s.durableDirs.contains(dir) && reachable(FaultyDisk.parent(dir)))
        }
        for dir in s.durableDirs.sorted(by: { $0.count < $1.count }) where reachable(dir) {
            try FileManager.default.createDirectory(
                atPath: dst + dir.dropFirst(root.count), withIntermediateDirectories: true)
        }
        for (path, inode) in s.durable where reachable(FaultyDisk.parent(path)) {
            try Data(s.contents[inode] ?? []).write(to: URL(fileURLWithPath: dst + path.dropFirst(root.count)))
        }
    }
}
