internal import AliceFormat
internal import Logging

/// Opening a store: footers read, files without one scanned frame by frame.
extension SegmentStore {
    // MARK: Loading

    /// Reads every file's index footer, or scans its frames when it has none (a writer then seals
    /// it); drops files a finished compaction replaced; truncates torn tails (read-write) and skips
    /// corrupt frames with an error log, keeping what is intact.
    func load() throws(AliceDBError) {
        if !readOnly { try FileIO.makeDirectory(dir) }
        for fd in fds.values { FileIO.close(fd) }
        fds = [:]
        totals = [:]
        facts = [:]
        fileIDs = []
        loose = [:]
        looseFlushed = [:]
        looseSummary = [:]
        dataStart = [:]
        faults = []
        writing = nil
        cache.removeAll()
        blocks.removeAll()
        summaries.removeAll()
        guard FileIO.exists(dir) else { return }
        var replaced = Set<UInt64>()
        var found = [UInt64]()
        for name in try FileIO.list(dir) {
            if name.hasSuffix(".tmp") {
                if !readOnly { try FileIO.remove(dir + "/" + name) }  // an unfinished compaction
                continue
            }
            guard name.hasSuffix(".seg"), let n = UInt64(name.dropLast(4), radix: 16) else { continue }
            highestID = max(highestID, n)
            guard let header = try readHeader(n) else { continue }
            dataStart[n] = header.start
            replaced.formUnion(header.replaces)
            found.append(n)
        }
        for n in found.sorted() {
            if replaced.contains(n) {
                if let fd = fds.removeValue(forKey: n) { FileIO.close(fd) }
                if !readOnly { try FileIO.remove(path(n)) }
                dataStart[n] = nil
                continue
            }
            try loadFile(n)
        }
    }

    /// The file header (nil: the file is skipped or removed, with the reason logged).
    func readHeader(_ n: UInt64) throws(AliceDBError) -> (start: Int, replaces: [UInt64])? {
        let p = path(n)
        let fd = try fd(n)
        let size = try FileIO.size(fd, path: p)
        var failure: DecodeError? = nil
        for want in [4096, 24 + 8 * 65536 + 16] {
            let bytes = try FileIO.read(fd, offset: 0, count: min(size, want), path: p)
            let parsed = bytes.withUnsafeBytes { raw in
                Result { () throws(DecodeError) in try SegmentFile.decodeHeader(raw) }
            }
            switch parsed {
            case .success((let h, let start)): return (start, h.replaces)
            case .failure(let e): failure = e
            }
            if size <= want { break }
        }
        if let fd = fds.removeValue(forKey: n) { FileIO.close(fd) }
        if size < 32 && !readOnly {
            logger.warning("removing a segment file with a torn header", metadata: ["file": "\(p)"])
            try FileIO.remove(p)
        } else {
            corruptFrames += 1
            faults.append("\(p): unreadable header (\(failure.map { "\($0)" } ?? "?")); file skipped")
            logger.error(
                "unreadable segment file header; file skipped",
                metadata: ["file": "\(p)", "reason": "\(failure.map { "\($0)" } ?? "?")"])
        }
        return nil
    }

    func loadFile(_ n: UInt64) throws(AliceDBError) {
        let p = path(n)
        let fd = try fd(n)
        let size = try FileIO.size(fd, path: p)
        if try loadFooter(n, size: size) { return }
        var refs = [UInt32: [SegmentRef]]()
        var flushed = [UInt32: WALPosition]()
        var summaries = [UInt32: SegmentSummary]()
        var f = FileFacts(size: size)
        let validEnd = try scanFrames(n, size: size, reportTornTail: readOnly, faults: &faults) {
            series, position, segs, summary in
            flushed[series] = max(flushed[series] ?? .start, position)
            refs[series, default: []].append(contentsOf: segs)
            summaries[series, default: .empty].merge(summary)
        }
        if validEnd < size {
            logger.log(
                level: readOnly ? .debug : .warning,  // a reader may catch a live writer mid-flush
                "segment file has a torn tail (an interrupted flush); \(readOnly ? "ignored" : "truncated")",
                metadata: ["file": "\(p)", "offset": "\(validEnd)", "size": "\(size)"])
            if !readOnly {
                let wfd = try FileIO.open(p, write: true)
                defer { FileIO.close(wfd) }
                try FileIO.truncate(wfd, to: validEnd, path: p)
                try FileIO.sync(wfd, path: p)
            }
        }
        f.size = validEnd
        // What a crash left unsealed may still be only in the page cache: make it durable before
        // anything (the uplink) treats it as stored for good.
        if !readOnly { try FileIO.sync(fd, path: p) }
        for (s, list) in refs {
            for r in list {
                f.add(r)
                totals[s, default: SeriesTotals()].add(r)
            }
        }
        for (s, position) in flushed {
            totals[s, default: SeriesTotals()].flushed = max(totals[s]?.flushed ?? .start, position)
        }
        if flushed.isEmpty && !readOnly {
            // Created just before a crash and never written: nothing to keep.
            if let fd = fds.removeValue(forKey: n) { FileIO.close(fd) }
            try FileIO.remove(p)
            return
        }
        f.series = flushed.count
        facts[n] = f
        fileIDs.append(n)
        loose[n] = refs
        looseFlushed[n] = flushed
        looseSummary[n] = summaries
        if !readOnly { try seal(n) }
    }

    /// Takes a file's index footer into the totals; false when it has none that checks out.
    func loadFooter(_ n: UInt64, size: Int) throws(AliceDBError) -> Bool {
        guard let start = dataStart[n], size >= start + IndexFooter.trailerBytes + 16 else { return false }
        let p = path(n)
        let fd = try fd(n)
        let trailer = try FileIO.read(
            fd, offset: size - IndexFooter.trailerBytes, count: IndexFooter.trailerBytes, path: p)
        guard
            let footer = trailer.withUnsafeBytes({
                IndexFooter.footerStart(trailer: $0, fileSize: size, dataStart: start)
            })
        else {
            return false
        }
        let bytes = try FileIO.read(fd, offset: footer, count: size - footer, path: p)
        var f = FileFacts(size: size, footer: footer)
        var seen = [(UInt32, SegmentRef)]()
        var flushed = [(UInt32, WALPosition)]()
        let parsed = bytes.withUnsafeBytes { raw in
            Result { () throws(DecodeError) in
                let body = try IndexFooter.body(raw)
                let bodyRaw = UnsafeRawBufferPointer(rebasing: raw[body])
                try IndexFooter.forEachEntry(bodyRaw) { e throws(DecodeError) in
                    flushed.append((e.series, e.flushed))
                    let block = try IndexFooter.block(bodyRaw, e)
                    for r in try IndexFooter.refs(block, e, file: n, dataEnd: footer) { seen.append((e.series, r)) }
                }
            }
        }
        if case .failure(let e) = parsed {
            logger.warning(
                "segment file index footer unusable; scanning the file", metadata: ["file": "\(p)", "reason": "\(e)"])
            return false
        }
        for (s, r) in seen {
            f.add(r)
            totals[s, default: SeriesTotals()].add(r)
        }
        for (s, position) in flushed {
            totals[s, default: SeriesTotals()].flushed = max(totals[s]?.flushed ?? .start, position)
        }
        f.series = flushed.count
        facts[n] = f
        fileIDs.append(n)
        return true
    }

    /// Reads a file's frames one at a time from its data start, skipping corrupt ones; calls `body`
    /// with each frame's series, WAL position and segment refs.
    /// - Returns: where the last intact frame ends.
    func scanFrames(
        _ n: UInt64, size: Int, reportTornTail: Bool, faults: inout [String],
        _ body: (UInt32, WALPosition, [SegmentRef], SegmentSummary) throws(AliceDBError) -> Void
    ) throws(AliceDBError) -> Int {
        let p = path(n)
        guard let start = dataStart[n] else { return size }
        var offset = start
        var validEnd = start
        while offset < size {
            switch try readFrame(n, at: offset, size: size) {
            case .success(let (frame, bytes)):
                var refs = [SegmentRef]()
                var summary = SegmentSummary.empty
                for (o, len) in frame.segments {
                    let parsed = bytes.withUnsafeBytes { raw in
                        Result { () throws(DecodeError) in
                            try SegmentFormat.header(
                                UnsafeRawBufferPointer(rebasing: raw[(o - offset)..<(o - offset + len)]))
                        }
                    }
                    switch parsed {
                    case .success(let (h, _, _)):
                        refs.append(SegmentRef(file: n, offset: o, length: len, header: h, lsn: frame.position.lsn))
                        summary.merge(h.summary)
                    case .failure(let e):
                        corruptFrames += 1
                        faults.append("\(p): corrupt segment at byte \(o) skipped (\(e))")
                        logger.error(
                            "corrupt segment skipped", metadata: ["file": "\(p)", "offset": "\(o)", "reason": "\(e)"])
                    }
                }
                try body(frame.series, frame.position, refs, summary)
                offset = frame.end
                validEnd = offset
            case .failure(let error):
                if let next = try resync(n, after: offset, size: size) {
                    corruptFrames += 1
                    faults.append("\(p): corrupt frame at byte \(offset) skipped, resumes at \(next) (\(error))")
                    logger.error(
                        "corrupt frame skipped; later frames are intact",
                        metadata: ["file": "\(p)", "offset": "\(offset)", "resumes": "\(next)", "reason": "\(error)"])
                    offset = next
                } else {
                    if reportTornTail {
                        faults.append(
                            "\(p): torn tail after byte \(validEnd) of \(size) (an interrupted flush; a writer truncates it)"
                        )
                    }
                    return validEnd
                }
            }
        }
        return validEnd
    }

    /// The frame at `offset` (absolute segment offsets) with its bytes, or why it is not one.
    func readFrame(_ n: UInt64, at offset: Int, size: Int) throws(AliceDBError) -> Result<
        (SegmentFile.Frame, [UInt8]), DecodeError
    > {
        guard offset + 12 <= size else { return .failure(DecodeError("frame header cut off", offset: offset)) }
        let p = path(n)
        let head = try FileIO.read(try fd(n), offset: offset, count: 12, path: p)
        guard Array(head[0..<4]) == SegmentFile.frameMagic else {
            return .failure(DecodeError("bad frame magic", offset: offset))
        }
        let length = Int(head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian })
        guard length <= SegmentFile.maxFrameBytes, offset + 12 + length <= size else {
            return .failure(DecodeError("frame length \(length) runs past the file", offset: offset))
        }
        let bytes = try FileIO.read(try fd(n), offset: offset, count: 12 + length, path: p)
        return bytes.withUnsafeBytes { raw in
            Result { () throws(DecodeError) in
                var f = try SegmentFile.decodeFrame(raw, at: 0)
                f.segments = f.segments.map { (offset + $0.offset, $0.length) }
                f.end += offset
                return (f, bytes)
            }
        }
    }

    /// The next offset after `offset` where an intact frame starts, if any (skips corruption).
    func resync(_ n: UInt64, after offset: Int, size: Int) throws(AliceDBError) -> Int? {
        let window = 1 << 16
        var base = offset + 1
        while base + 12 <= size {
            let chunk = try FileIO.read(try fd(n), offset: base, count: min(window + 3, size - base), path: path(n))
            var i = 0
            while i + 4 <= chunk.count {
                if chunk[i] == SegmentFile.frameMagic[0] && chunk[i + 1] == SegmentFile.frameMagic[1]
                    && chunk[i + 2] == SegmentFile.frameMagic[2] && chunk[i + 3] == SegmentFile.frameMagic[3],
                    case .success = try readFrame(n, at: base + i, size: size)
                {
                    return base + i
                }
                i += 1
            }
            base += window
        }
        return nil
    }
}
