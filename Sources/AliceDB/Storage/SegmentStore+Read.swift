internal import AliceFormat
internal import Logging
internal import SystemPackage

/// Reading: segment bytes, decoded segments, and the refs a query needs.
extension SegmentStore {
    // MARK: Reading

    func fd(_ file: UInt64) throws(AliceDBError) -> FileDescriptor {
        if let fd = fds[file] { return fd }
        if fds.count >= 64 {  // keep descriptors bounded however many files there are
            for (n, fd) in fds where n != writing { FileIO.close(fd) }
            fds = fds.filter { $0.key == writing }
        }
        let fd = try FileIO.open(path(file), write: false)
        fds[file] = fd
        return fd
    }

    /// File `n` for reading, through the store's descriptor.
    func file(_ n: UInt64) throws(AliceDBError) -> SegmentFileReader {
        SegmentFileReader(id: n, path: path(n), fd: try fd(n))
    }

    func rawBytes(_ ref: SegmentRef) throws(AliceDBError) -> [UInt8] { try file(ref.file).bytes(ref) }

    /// The decoded points of a segment (cached).
    func decode(_ ref: SegmentRef) throws(AliceDBError) -> DecodedSegment {
        let key = SegmentKey(file: ref.file, offset: ref.offset)
        if let hit = cache[key] { return hit }
        let bytes = try rawBytes(ref)
        do {
            let d = try SegmentFormat.decode(bytes)
            cache.insert(key, d)
            return d
        } catch {
            throw AliceDBError(
                .corrupt, "segment does not decode: \(error.message)", path: path(ref.file),
                offset: ref.offset + error.offset, cause: error)
        }
    }

    /// The full header of a segment (its exact summary), read from the file.
    func header(_ ref: SegmentRef) throws(AliceDBError) -> SegmentHeader {
        if let hit = cache[SegmentKey(file: ref.file, offset: ref.offset)] { return hit.header }
        return try file(ref.file).parts(ref).header
    }

    /// The decoded segment for a query, or nil when it turns out corrupt: the query goes on
    /// without it (as a load skips a corrupt frame), the fault is logged and kept for `verify`.
    func decodeForQuery(_ ref: SegmentRef) throws(AliceDBError) -> DecodedSegment? {
        do { return try decode(ref) } catch  where error.code == .corrupt {
            skipped(error)
            return nil
        }
    }

    /// The exact summary of a segment for a query, or nil when it turns out corrupt (skipped).
    func summaryForQuery(_ ref: SegmentRef) throws(AliceDBError) -> SegmentSummary? {
        let key = SegmentKey(file: ref.file, offset: ref.offset)
        if let hit = summaries[key] { return hit }
        do {
            let summary = try header(ref).summary
            summaries.insert(key, summary)
            return summary
        } catch  where error.code == .corrupt {
            skipped(error)
            return nil
        }
    }

    func skipped(_ error: AliceDBError) {
        let fault = "\(error.description) (segment skipped by queries)"
        guard !faults.contains(fault) else { return }
        corruptFrames += 1
        if faults.count < 1000 { faults.append(fault) }
        logger.error("corrupt segment skipped by a query", metadata: ["reason": "\(error)"])
    }

    /// The refs of `series` in file `n`, in the order they were written.
    func refs(of series: UInt32, in n: UInt64) throws(AliceDBError) -> [SegmentRef] {
        if let l = loose[n] { return l[series] ?? [] }
        return try block(of: series, in: n)?.refs ?? []
    }

    /// The index block of `series` in sealed file `n` (nil: none there, or the file is not sealed).
    func block(of series: UInt32, in n: UInt64) throws(AliceDBError) -> IndexBlock? {
        guard loose[n] == nil, let f = facts[n], let footer = f.footer else { return nil }
        let key = IndexBlockKey(file: n, series: series)
        if let hit = blocks[key] { return hit }
        guard let block = try file(n).block(of: series, footer: footer, size: f.size) else { return nil }
        blocks.insert(key, block)
        return block
    }

    /// Segments of `series` that overlap `[from, to]`, in query order, and whether any two overlap.
    func refs(_ series: UInt32, from: Int64, to: Int64) throws(AliceDBError) -> (refs: [SegmentRef], overlapping: Bool)
    {
        guard let t = totals[series], t.segments > 0, t.first <= to, t.last >= from else { return ([], false) }
        var out = [SegmentRef]()
        for n in fileIDs {
            guard let f = facts[n], f.refs > 0, f.minFirst <= to, f.maxLast >= from else { continue }
            if let l = loose[n] {
                for r in l[series] ?? [] where r.lastTimestamp >= from && r.firstTimestamp <= to { out.append(r) }
            } else {
                try block(of: series, in: n)?.overlapping(from, to) { out.append($0) }
            }
        }
        var sorted = true
        for i in out.indices.dropFirst() where !SegmentRef.inOrder(out[i - 1], out[i]) { sorted = false }
        if !sorted { out.sort(by: SegmentRef.inOrder) }
        var overlaps = false
        var end = Int64.min
        for (i, r) in out.enumerated() {
            if i > 0 && r.firstTimestamp <= end { overlaps = true }
            end = max(end, r.lastTimestamp)
        }
        return (out, overlaps)
    }

    /// What an aggregate over `[from, to]` needs: the summed summaries of the sealed files' blocks
    /// that lie wholly inside the range (one merge per file, however many segments), and the refs
    /// of the other segments that overlap it.
    func aggregateParts(_ series: UInt32, from: Int64, to: Int64) throws(AliceDBError) -> (
        whole: SegmentSummary, refs: [SegmentRef]
    ) {
        var whole = SegmentSummary.empty
        var refs = [SegmentRef]()
        guard let t = totals[series], t.segments > 0, t.first <= to, t.last >= from else { return (whole, refs) }
        for n in fileIDs {
            guard let f = facts[n], f.refs > 0, f.minFirst <= to, f.maxLast >= from else { continue }
            if let b = try block(of: series, in: n), !b.refs.isEmpty, b.minFirst >= from, b.maxLast <= to {
                whole.merge(b.summary)
                continue
            }
            if let l = loose[n] {
                for r in l[series] ?? [] where r.lastTimestamp >= from && r.firstTimestamp <= to { refs.append(r) }
            } else {
                try block(of: series, in: n)?.overlapping(from, to) { refs.append($0) }
            }
        }
        return (whole, refs)
    }

    /// Every ref of file `n` with its series (reads the whole footer once).
    func forEachRef(in n: UInt64, _ body: (UInt32, SegmentRef) throws(AliceDBError) -> Void) throws(AliceDBError) {
        if let l = loose[n] {
            for s in l.keys.sorted() { for r in l[s]! { try body(s, r) } }
            return
        }
        guard let f = facts[n], let footer = f.footer else { return }
        let all = try file(n).allRefs(footer: footer, size: f.size)
        for (s, r) in all { try body(s, r) }
    }
}
