internal import Synchronization

/// A seam in the file layer for fault-injection tests: every operation that changes what is on
/// disk (`FileIO.Change`) asks the injector installed over its directory first, which may let it
/// run, fail it with an errno, or let a write through only in part. The crash-recovery tests count
/// the operations of a run, fail or tear the Nth, and model what a power cut would keep from what
/// the injector is told after each change (docs/reliability.md).
///
/// Injectors are installed per directory, so tests running in parallel elsewhere are untouched.
/// With none installed a change costs one atomic load and a branch.
package protocol FileFaultInjector: AnyObject, Sendable {
    /// Called before `change` of `path` (`to`: a rename's target; `count`: a write's bytes).
    func willChange(_ change: FileIO.Change, path: String, to: String?, count: Int) -> FileIO.Injection
    /// Called after `change` of `path` succeeded.
    func didChange(_ change: FileIO.Change, path: String, to: String?)
}

extension FileIO {
    /// The operations an injector sees.
    package enum Change: String, Sendable, CaseIterable {
        /// `open` with `O_CREAT` for writing.
        case create
        case write
        /// `fsync` of a file or (`syncDirectory`) of a directory.
        case sync
        case rename
        /// `unlink`, or `rmdir`.
        case unlink
        case truncate
        /// `mkdir` of a directory that is not there yet.
        case mkdir
    }

    /// What an injector makes of one change.
    package enum Injection: Sendable, Equatable {
        case proceed
        /// The call fails with this errno (`EIO`, `ENOSPC`…) and changes nothing.
        case fail(Int32)
        /// A write puts only its first `keep` bytes down, then fails with `errno`.
        case tear(keep: Int, errno: Int32)
        /// A sync returns without reaching the disk: the injector models durability itself (and
        /// the tests run hundreds of times faster).
        case skip
    }

    private static let injectorCount = Atomic<Int>(0)
    private static let injectors = Mutex<[(root: String, injector: any FileFaultInjector)]>([])

    /// Routes the changes of every path under `root` through `injector` until `uninstall`.
    package static func install(_ injector: any FileFaultInjector, under root: String) {
        injectors.withLock { $0.append((root, injector)) }
        injectorCount.add(1, ordering: .sequentiallyConsistent)
    }

    package static func uninstall(under root: String) {
        let removed = injectors.withLock { list in
            let before = list.count
            list.removeAll { $0.root == root }
            return before - list.count
        }
        injectorCount.subtract(removed, ordering: .sequentiallyConsistent)
    }

    /// The injector over `path`, if any (one load and a branch when there is none).
    @inline(__always)
    static func injector(_ path: String) -> (any FileFaultInjector)? {
        guard injectorCount.load(ordering: .relaxed) > 0 else { return nil }
        return injectors.withLock { list in
            list.first { path == $0.root || path.hasPrefix($0.root + "/") }?.injector
        }
    }

    /// Asks the injector over `path` about `change`; throws the injected failure.
    /// - Returns: the injector (to tell it the outcome), for a torn write how much to write, and
    ///   whether to leave a sync out.
    @inline(__always)
    static func inject(
        _ change: Change, _ path: String, to: String? = nil, count: Int = 0
    ) throws(AliceDBError) -> (injector: (any FileFaultInjector)?, tear: (keep: Int, errno: Int32)?, skip: Bool) {
        guard let injector = injector(path) else { return (nil, nil, false) }
        switch injector.willChange(change, path: path, to: to, count: count) {
        case .proceed: return (injector, nil, false)
        case .skip: return (injector, nil, change == .sync)
        case .fail(let err): throw failure(change.rawValue + " (injected)", path, err)
        case .tear(let keep, let err): return (injector, (min(max(keep, 0), count), err), false)
        }
    }
}
