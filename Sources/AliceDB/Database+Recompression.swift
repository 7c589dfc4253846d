internal import AliceFormat
internal import Synchronization

/// When maintenance takes recompression's next step, and the job between steps.
struct RecompressionPace: ~Copyable {
    var job: RecompressionJob?
    /// Monotonic ns before which no step is taken.
    var nextStep: UInt64 = 0

    /// A step re-encodes for this long, then maintenance goes on.
    static let stepNanos: UInt64 = 50_000_000
    /// Steps of a running job: at most one a second (5 % of a core).
    static let stepInterval: UInt64 = 1_000_000_000
    /// With nothing to re-encode, the files are looked at again after this long.
    static let idleInterval: UInt64 = 60_000_000_000
}

/// Re-encoding old fast-profile segments into the compact profile (`Engine+Recompression`): the
/// decoding and encoding run here, outside the engine's lock, so puts and queries go on meanwhile.
extension Database {
    /// Maintenance's part: one paced step when `DatabaseOptions.recompressAfterMilliseconds` is set.
    func recompressIfDue() throws(AliceDBError) {
        let age = options.recompressAfterMilliseconds
        guard age != nil || options.mergeSegments, !options.readOnly else { return }
        let now = FileIO.monotonicNanos()
        let due = recompression.withLock { p -> RecompressionJob?? in
            guard now >= p.nextStep else { return nil }
            p.nextStep = now &+ RecompressionPace.stepInterval
            defer { p.job = nil }
            return .some(p.job)
        }
        guard let job = due else { return }
        var running = job
        if running == nil {
            running = try engine.withLock { e throws(AliceDBError) in
                try e.startRecompression(
                    cutoff: age.map { FileIO.wallMillis() &- $0 }, merge: options.mergeSegments)
            }
        }
        guard let running else {
            recompression.withLock { $0.nextStep = now &+ RecompressionPace.idleInterval }
            return
        }
        if try step(running, until: now &+ RecompressionPace.stepNanos) {
            recompression.withLock { $0.nextStep = now }  // the next file at the next maintenance
        } else {
            recompression.withLock { $0.job = running }
        }
    }

    /// Re-encodes every fast-profile segment in files whose points all end before `cutoff` (epoch
    /// ms) and that may be rewritten (in an outbox: acknowledged), now, to the end.
    /// - Returns: the segments re-encoded and their bytes before and after.
    @discardableResult
    public func recompress(olderThan cutoff: Int64) throws -> (segments: Int, bytesBefore: Int, bytesAfter: Int) {
        let before = counters
        try rewriteAll(cutoff: cutoff, merge: false)
        let after = counters
        return (
            after.recompressedSegments - before.recompressedSegments,
            after.recompressedBytesBefore - before.recompressedBytesBefore,
            after.recompressedBytesAfter - before.recompressedBytesAfter
        )
    }

    /// Merges every run of a series' short segments in sealed files that may be rewritten (in an
    /// outbox: acknowledged), now, to the end, as maintenance does a little at a time
    /// (`DatabaseOptions.mergeSegments`).
    /// - Returns: the segments merged away and the bytes of the merged runs before and after.
    @discardableResult
    public func mergeShortSegments() throws -> (segments: Int, bytesBefore: Int, bytesAfter: Int) {
        let before = counters
        try rewriteAll(cutoff: nil, merge: true)
        let after = counters
        return (
            after.mergedSegments - before.mergedSegments, after.mergedBytesBefore - before.mergedBytesBefore,
            after.mergedBytesAfter - before.mergedBytesAfter
        )
    }

    private func rewriteAll(cutoff: Int64?, merge: Bool) throws {
        abandonRecompression()
        while let job = try engine.withLock({ e throws(AliceDBError) in
            try e.startRecompression(cutoff: cutoff, merge: merge)
        }) {
            while try !step(job, until: 0) {}
        }
    }

    /// Runs `job` until `deadline`; swaps its file in once it is done. A job that fails is given up
    /// (its source stays) and its source is not tried again by this process.
    /// - Returns: whether the job is finished (or given up).
    private func step(_ job: RecompressionJob, until deadline: UInt64) throws(AliceDBError) -> Bool {
        do {
            if !job.merge, try job.hasFastSegmentsOnce() == false {
                engine.withLock { $0.abandonRecompression(job, settle: true) }
                return true
            }
            guard try job.step(until: deadline) else { return false }
            try engine.withLock { e throws(AliceDBError) in try e.finishRecompression(job) }
            return true
        } catch {
            engine.withLock { $0.abandonRecompression(job, settle: true) }
            throw error
        }
    }

    /// Drops a job between its steps (the database closes, or `recompress` runs to the end).
    func abandonRecompression() {
        let taken = recompression.withLock { p in
            defer { p.job = nil }
            return p.job
        }
        guard let job = taken else { return }
        engine.withLock { $0.abandonRecompression(job, settle: false) }
    }
}
