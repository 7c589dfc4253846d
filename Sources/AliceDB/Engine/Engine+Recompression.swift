internal import AliceFormat
internal import Logging

/// Compaction's re-encoding of old fast-profile segments into the compact profile
/// (`DatabaseOptions.recompressAfterMilliseconds`): the engine starts a `RecompressionJob` and swaps
/// its file in, each under the lock; the job's steps run outside it (`Database.maintain`).
///
/// Only files the uplink has acknowledged are re-encoded, so what the uplink ships is the form a
/// segment had when it was written (fast for a fast series) and nothing is shipped twice: the new
/// file is marked shipped like a compaction of acknowledged files (`Outbox.markShipped`).
extension Engine {
    /// A job for the oldest sealed file that compaction may rewrite and whose segments all end
    /// before `cutoff` (epoch ms; nil: none do), or, with `merge`, that holds a run of a series'
    /// short segments (`RecompressionJob.hasShortRun`); nil when there is none or a job runs already.
    func startRecompression(cutoff: Int64?, merge: Bool = false) throws(AliceDBError) -> RecompressionJob? {
        guard !closed, !options.readOnly, upkeep.recompressing == nil, disk.full == nil else { return nil }
        let eligible = upkeep.compactable
        for n in store.fileIDs where !upkeep.settled.contains(n) {
            guard let f = store.facts[n], f.footer != nil, f.refs > 0, eligible(n) else { continue }
            let old = cutoff.map { f.maxLast < $0 } ?? false
            guard old || merge else { continue }
            var work = [(series: UInt32, refs: [SegmentRef])]()
            var positions = [UInt32: WALPosition]()
            for s in store.totals.keys.sorted() {
                positions[s] = store.flushed(s)
                let list = try store.refs(of: s, in: n).sorted(by: SegmentRef.inOrder)
                if !list.isEmpty { work.append((s, list)) }
            }
            let target = max(RecompressionJob.shortBelow * 2, options.defaultCapacity)
            let runs = merge && work.contains { RecompressionJob.hasShortRun($0.refs, target: target) }
            guard old || runs else { continue }
            try? FileIO.remove(store.path(n) + RecompressionJob.suffix)  // a job a crash interrupted
            let job: RecompressionJob
            do {
                job = try RecompressionJob(
                    source: n, size: f.size, path: store.path(n), work: work, positions: positions, recompress: old,
                    merge: runs, mergeTarget: target)
            } catch {
                upkeep.settled.insert(n)  // (a file gone from under the index: said once, not every second)
                throw error
            }
            upkeep.recompressing = n
            return job
        }
        return nil
    }

    /// Puts a finished job's file in place of its source: numbered, renamed, the source removed and
    /// the index reloaded, as compaction does. A job whose source changed meanwhile, or that
    /// re-encoded nothing, is dropped.
    func finishRecompression(_ job: RecompressionJob) throws(AliceDBError) {
        upkeep.recompressing = nil
        guard !closed, let f = store.facts[job.source], f.size == job.sourceSize,
            job.recoded + job.mergedAway > 0
        else {
            job.discard()
            if store.facts[job.source] != nil { upkeep.settled.insert(job.source) }
            return
        }
        let shipped = upkeep.outbox?.shippedFiles(store) ?? []
        let id = store.highestID + 1
        store.highestID = id  // taken even if what follows fails: the outbox may mark it shipped
        do throws(AliceDBError) {
            try job.number(id)
            try upkeep.willReplace([job.source], with: id, shipped: shipped)
            store.dropCaches()
            try FileIO.rename(job.tmpPath, store.path(id))
        } catch {
            job.discard()
            throw error
        }
        do {
            try FileIO.syncDirectory(store.dir)
            try FileIO.remove(job.sourcePath)
            try FileIO.syncDirectory(store.dir)
        } catch {
            try? store.load()  // the index follows the directory whatever failed (as compaction's)
            throw error
        }
        try store.load()
        try upkeep.markShipped([(id, [job.source])], from: shipped)
        upkeep.settled.insert(id)
        writes.counters.recompressedSegments += job.recoded
        writes.counters.recompressedBytesBefore += job.bytesBefore
        writes.counters.recompressedBytesAfter += job.bytesAfter
        writes.counters.mergedSegments += job.mergedAway
        writes.counters.mergedBytesBefore += job.mergeBytesBefore
        writes.counters.mergedBytesAfter += job.mergeBytesAfter
        logger.info(
            "rewrote segments",
            metadata: [
                "file": "\(job.source)", "into": "\(id)", "recompressed": "\(job.recoded)", "kept_fast": "\(job.kept)",
                "bytes_before": "\(job.bytesBefore)", "bytes_after": "\(job.bytesAfter)",
                "merged_away": "\(job.mergedAway)", "merge_bytes_before": "\(job.mergeBytesBefore)",
                "merge_bytes_after": "\(job.mergeBytesAfter)",
            ])
    }

    /// Gives up a job (it failed, or the database closes): its file is removed and the source left.
    func abandonRecompression(_ job: RecompressionJob, settle: Bool) {
        upkeep.recompressing = nil
        job.discard()
        if settle { upkeep.settled.insert(job.source) }
    }
}
