internal import AliceFormat

/// Compaction and retention's writer: segment files rewritten into new sealed files, in bounded
/// memory, each naming the files it replaces; the store reloads its index afterwards.
struct SegmentRewriter {
    let store: SegmentStore

    /// Rewrites `files` into new files keeping the segments `keep` accepts; each new file names the
    /// old ones it replaces, so a crash between rename and unlink never doubles data. Files are
    /// taken in groups of at most `maxMergedRefs` segments, which bounds the memory used.
    /// - Returns: the segments and points dropped, and each new file with the files it replaced.
    /// - Parameter willReplace: called with each new file's number and the files it replaces just
    ///   before it takes their place (an outbox marks it shipped then: `Outbox.willReplace`).
    @discardableResult
    func rewrite(
        files old: [UInt64], willReplace: (UInt64, [UInt64]) throws(AliceDBError) -> Void = { _, _ in },
        keep: (SegmentRef) -> Bool
    ) throws(AliceDBError) -> (segments: Int, points: Int, files: [(new: UInt64, old: [UInt64])]) {
        precondition(!store.readOnly)
        var dropped = (segments: 0, points: 0)
        var written = [(new: UInt64, old: [UInt64])]()
        var group = [UInt64]()
        var refs = 0
        for n in old.sorted() where store.facts[n] != nil {
            let r = store.facts[n]!.refs
            if !group.isEmpty && refs + r > SegmentStore.maxMergedRefs {
                let d = try rewriteGroup(group, keep: keep, willReplace: willReplace)
                dropped = (dropped.segments + d.segments, dropped.points + d.points)
                written.append((d.file, group))
                group = []
                refs = 0
            }
            group.append(n)
            refs += r
        }
        if !group.isEmpty {
            let d = try rewriteGroup(group, keep: keep, willReplace: willReplace)
            dropped = (dropped.segments + d.segments, dropped.points + d.points)
            written.append((d.file, group))
        }
        return (dropped.segments, dropped.points, written)
    }

    private func rewriteGroup(
        _ old: [UInt64], keep: (SegmentRef) -> Bool, willReplace: (UInt64, [UInt64]) throws(AliceDBError) -> Void
    ) throws(AliceDBError) -> (segments: Int, points: Int, file: UInt64) {
        for n in old { try store.seal(n) }
        try store.sync()
        let newID = store.highestID + 1
        let tmp = store.path(newID) + ".tmp"
        var dropped = (segments: 0, points: 0)
        var newRefs = [UInt32: [SegmentRef]]()
        var summaries = [UInt32: SegmentSummary]()
        var positions = [UInt32: WALPosition]()
        let fd = try FileIO.open(tmp, write: true, create: true, truncate: true)
        do throws(AliceDBError) {
            let header = SegmentFile.encodeHeader(.init(id: newID, replaces: old.sorted()))
            try FileIO.writeAll(fd, header, path: tmp)
            var size = header.count
            // Every series keeps its flushed WAL position, even if all its segments went.
            for s in store.totals.keys.sorted() {
                let position = store.flushed(s)
                positions[s] = position
                var list = [SegmentRef]()
                for n in old { list += try store.refs(of: s, in: n) }
                list.sort(by: SegmentRef.inOrder)
                var chunk = [(ref: SegmentRef, bytes: [UInt8])]()
                var chunkBytes = 0
                func emit() throws(AliceDBError) {
                    guard !chunk.isEmpty else { return }
                    let (frame, offsets) = SegmentFile.encodeFrame(
                        series: s, position: position, segments: chunk.map(\.bytes))
                    try FileIO.writeAll(fd, frame, path: tmp)
                    for (c, o) in zip(chunk, offsets) {
                        var r = c.ref
                        r.file = newID
                        r.offset = size + o
                        newRefs[s, default: []].append(r)
                    }
                    size += frame.count
                    chunk = []
                    chunkBytes = 0
                }
                for r in list {
                    guard keep(r) else {
                        dropped.segments += 1
                        dropped.points += r.count
                        continue
                    }
                    let b = try store.rawBytes(r)
                    let parsed = b.withUnsafeBytes { raw in
                        Result { () throws(DecodeError) in try SegmentFormat.header(raw).0.summary }
                    }
                    let summary: SegmentSummary
                    switch parsed {
                    case .success(let s): summary = s
                    case .failure(let e):
                        throw AliceDBError(
                            .corrupt, "segment to be kept does not decode; nothing was rewritten",
                            path: store.path(r.file), offset: r.offset, cause: e)
                    }
                    summaries[s, default: .empty].merge(summary)
                    if chunkBytes + b.count > 1 << 20 { try emit() }
                    chunk.append((r, b))
                    chunkBytes += b.count
                }
                try emit()
            }
            try FileIO.writeAll(
                fd, IndexFooter.encode(footerStart: size, refs: newRefs, summaries: summaries, flushed: positions),
                path: tmp)
            try FileIO.sync(fd, path: tmp)
            FileIO.close(fd)
        } catch {
            FileIO.close(fd)
            try? FileIO.remove(tmp)
            throw error
        }
        // The number is taken even if what follows fails: an outbox may have marked it shipped.
        store.highestID = max(store.highestID, newID)
        do { try willReplace(newID, old) } catch {
            try? FileIO.remove(tmp)
            throw error
        }
        store.dropCaches()
        try FileIO.rename(tmp, store.path(newID))
        do {
            try FileIO.syncDirectory(store.dir)
            for n in old { try FileIO.remove(store.path(n)) }
            try FileIO.syncDirectory(store.dir)
        } catch {
            // The index follows the directory whatever failed: the new file is in place, and some
            // old ones may be gone (left stale, a later retention read a file that was not there).
            try? store.load()
            throw error
        }
        try store.load()
        return (dropped.segments, dropped.points, newID)
    }

    /// Files compaction would merge: sealed, below `smallBytes`, not sealed for being full, that
    /// `eligible` accepts, oldest first, as many as fit in one merged file.
    func smallFiles(below smallBytes: Int, eligible: (UInt64) -> Bool = { _ in true }) -> [UInt64] {
        var out = [UInt64]()
        var refs = 0
        var bytes = 0
        for n in store.fileIDs where eligible(n) {
            guard let f = store.facts[n], f.footer != nil, f.size < smallBytes, f.refs < SegmentStore.maxActiveRefs
            else {
                continue
            }
            if refs + f.refs > SegmentStore.maxMergedRefs || bytes + f.size > SegmentStore.maxFileBytes { break }
            out.append(n)
            refs += f.refs
            bytes += f.size
        }
        return out
    }

    /// Merges small segment files (those `eligible` accepts) into one.
    /// - Returns: the files merged, and the new file with the files it replaced.
    func compact(
        smallBytes: Int, eligible: (UInt64) -> Bool = { _ in true },
        willReplace: (UInt64, [UInt64]) throws(AliceDBError) -> Void = { _, _ in }
    ) throws(AliceDBError) -> (merged: Int, files: [(new: UInt64, old: [UInt64])]) {
        let small = smallFiles(below: smallBytes, eligible: eligible)
        guard small.count >= 2 else { return (0, []) }
        return (small.count, try rewrite(files: small, willReplace: willReplace) { _ in true }.files)
    }
}
