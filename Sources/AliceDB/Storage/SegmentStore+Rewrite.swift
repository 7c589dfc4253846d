internal import AliceFormat

/// Compaction and retention: segment files rewritten into new sealed files, in bounded memory.
extension SegmentStore {
    /// Rewrites `files` into new files keeping the segments `keep` accepts; each new file names the
    /// old ones it replaces, so a crash between rename and unlink never doubles data. Files are
    /// taken in groups of at most `maxMergedRefs` segments, which bounds the memory used.
    /// - Returns: the segments and points dropped, and each new file with the files it replaced.
    @discardableResult
    func rewrite(
        files old: [UInt64], keep: (SegmentRef) -> Bool
    ) throws(AliceDBError) -> (segments: Int, points: Int, files: [(new: UInt64, old: [UInt64])]) {
        precondition(!readOnly)
        var dropped = (segments: 0, points: 0)
        var written = [(new: UInt64, old: [UInt64])]()
        var group = [UInt64]()
        var refs = 0
        for n in old.sorted() where facts[n] != nil {
            let r = facts[n]!.refs
            if !group.isEmpty && refs + r > SegmentStore.maxMergedRefs {
                let d = try rewriteGroup(group, keep: keep)
                dropped = (dropped.segments + d.segments, dropped.points + d.points)
                written.append((d.file, group))
                group = []
                refs = 0
            }
            group.append(n)
            refs += r
        }
        if !group.isEmpty {
            let d = try rewriteGroup(group, keep: keep)
            dropped = (dropped.segments + d.segments, dropped.points + d.points)
            written.append((d.file, group))
        }
        return (dropped.segments, dropped.points, written)
    }

    private func rewriteGroup(
        _ old: [UInt64], keep: (SegmentRef) -> Bool
    ) throws(AliceDBError) -> (segments: Int, points: Int, file: UInt64) {
        for n in old { try seal(n) }
        try sync()
        let newID = highestID + 1
        let tmp = path(newID) + ".tmp"
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
            for s in totals.keys.sorted() {
                let position = flushed(s)
                positions[s] = position
                var list = [SegmentRef]()
                for n in old { list += try refs(of: s, in: n) }
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
                    let b = try rawBytes(r)
                    let parsed = b.withUnsafeBytes { raw in
                        Result { () throws(DecodeError) in try SegmentFormat.header(raw).0.summary }
                    }
                    guard case .success(let summary) = parsed else {
                        throw AliceDBError(
                            .corrupt, "segment to be kept does not decode; nothing was rewritten", path: path(r.file),
                            offset: r.offset)
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
        dropCaches()
        try FileIO.rename(tmp, path(newID))
        try FileIO.syncDirectory(dir)
        for n in old { try FileIO.remove(path(n)) }
        try FileIO.syncDirectory(dir)
        try load()
        return (dropped.segments, dropped.points, newID)
    }

    /// Files compaction would merge: sealed, below `smallBytes`, not sealed for being full, that
    /// `eligible` accepts, oldest first, as many as fit in one merged file.
    func smallFiles(below smallBytes: Int, eligible: (UInt64) -> Bool = { _ in true }) -> [UInt64] {
        var out = [UInt64]()
        var refs = 0
        var bytes = 0
        for n in fileIDs where eligible(n) {
            guard let f = facts[n], f.footer != nil, f.size < smallBytes, f.refs < SegmentStore.maxActiveRefs else {
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
        smallBytes: Int, eligible: (UInt64) -> Bool = { _ in true }
    ) throws(AliceDBError) -> (merged: Int, files: [(new: UInt64, old: [UInt64])]) {
        let small = smallFiles(below: smallBytes, eligible: eligible)
        guard small.count >= 2 else { return (0, []) }
        return (small.count, try rewrite(files: small) { _ in true }.files)
    }

    /// The smallest end time `t` such that deleting every segment that ends before `t` frees at
    /// least `excess` segment bytes (nil: nothing to free). Two passes over the index with a
    /// histogram of bytes by end time, so memory stays bounded however many segments there are.
    func retentionCutoff(toFree excess: Int) throws(AliceDBError) -> Int64? {
        guard excess > 0 else { return nil }
        var lo = Int64.max
        var hi = Int64.min
        for f in facts.values where f.refs > 0 {
            lo = min(lo, f.minLast)
            hi = max(hi, f.maxLast)
        }
        guard lo <= hi else { return nil }
        let buckets = 4096
        var need = excess
        for _ in 0..<2 {
            let span = UInt64(bitPattern: hi &- lo) &+ 1
            let width =
                span == 0 ? UInt64.max / UInt64(buckets) : max(1, (span + UInt64(buckets) - 1) / UInt64(buckets))
            var bytes = [Int](repeating: 0, count: buckets)
            for n in fileIDs {
                try forEachRef(in: n) { _, r throws(AliceDBError) in
                    // Segments ending before `lo` were counted in the previous pass.
                    if r.lastTimestamp >= lo && r.lastTimestamp <= hi {
                        bytes[Int(UInt64(bitPattern: r.lastTimestamp &- lo) / width)] += r.length
                    }
                }
            }
            var sum = 0
            var k = buckets - 1
            for i in 0..<buckets {
                sum += bytes[i]
                if sum >= need {
                    k = i
                    break
                }
            }
            if sum < need { return hi &+ 1 }  // everything goes
            let start = lo &+ Int64(bitPattern: UInt64(k) &* width)
            if width == 1 { return start &+ 1 }
            need -= sum - bytes[k]
            lo = start
            hi = min(hi, start &+ Int64(bitPattern: width - 1))
        }
        return hi &+ 1
    }
}
