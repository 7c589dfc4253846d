internal import AliceFormat
internal import Logging
internal import SystemPackage

/// One segment file on disk, read through a descriptor its store owns: the header, the index
/// footer and its blocks, and the frames one by one (skipping corrupt ones). Holds no state of
/// the store, so loading, queries, `verify` and the outbox read files the same way.
struct SegmentFileReader {
    let id: UInt64
    let path: String
    let fd: FileDescriptor

    /// What an index footer holds: every ref with its series, and each series' flushed position.
    struct Footer {
        var start: Int
        var refs: [(UInt32, SegmentRef)]
        var flushed: [(UInt32, WALPosition)]
    }

    /// The bytes of one segment of this file.
    func bytes(_ ref: SegmentRef) throws(AliceDBError) -> [UInt8] {
        try FileIO.read(fd, offset: ref.offset, count: ref.length, path: path)
    }

    /// A segment's header and how many bytes its coded timestamps and values take.
    func parts(_ ref: SegmentRef) throws(AliceDBError) -> (header: SegmentHeader, timestampBytes: Int, valueBytes: Int)
    {
        let raw = try bytes(ref)
        let parsed = raw.withUnsafeBytes { r in Result { () throws(DecodeError) in try SegmentFormat.header(r) } }
        switch parsed {
        case .success(let (h, ts, values)): return (h, ts.count, values.count)
        case .failure(let e):
            throw AliceDBError(
                .corrupt, "segment header does not decode: \(e.message)", path: path, offset: ref.offset + e.offset,
                cause: e)
        }
    }

    /// The file header: where the frames start and the files this one replaces.
    func header(size: Int) throws(AliceDBError) -> Result<(start: Int, replaces: [UInt64]), DecodeError> {
        var failure = DecodeError("empty file", offset: 0)
        for want in [4096, 24 + 8 * 65536 + 16] {
            let bytes = try FileIO.read(fd, offset: 0, count: min(size, want), path: path)
            let parsed = bytes.withUnsafeBytes { raw in
                Result { () throws(DecodeError) in try SegmentFile.decodeHeader(raw) }
            }
            switch parsed {
            case .success((let h, let start)): return .success((start, h.replaces))
            case .failure(let e): failure = e
            }
            if size <= want { break }
        }
        return .failure(failure)
    }

    /// The index footer (nil: there is none; `.failure`: there is one that does not check out).
    func footer(size: Int, dataStart: Int) throws(AliceDBError) -> Result<Footer, DecodeError>? {
        guard size >= dataStart + IndexFooter.trailerBytes + 16 else { return nil }
        let trailer = try FileIO.read(
            fd, offset: size - IndexFooter.trailerBytes, count: IndexFooter.trailerBytes, path: path)
        guard
            let footer = trailer.withUnsafeBytes({
                IndexFooter.footerStart(trailer: $0, fileSize: size, dataStart: dataStart)
            })
        else {
            return nil
        }
        return try refs(footer: footer, size: size)
    }

    /// The refs and flushed positions of the footer that starts at `footer`.
    func refs(footer: Int, size: Int) throws(AliceDBError) -> Result<Footer, DecodeError> {
        let bytes = try FileIO.read(fd, offset: footer, count: size - footer, path: path)
        var out = Footer(start: footer, refs: [], flushed: [])
        let parsed = bytes.withUnsafeBytes { raw in
            Result { () throws(DecodeError) in
                let bodyRaw = UnsafeRawBufferPointer(rebasing: raw[try IndexFooter.body(raw)])
                try IndexFooter.forEachEntry(bodyRaw) { e throws(DecodeError) in
                    out.flushed.append((e.series, e.flushed))
                    let block = try IndexFooter.block(bodyRaw, e)
                    for r in try IndexFooter.refs(block, e, file: id, dataEnd: footer) {
                        out.refs.append((e.series, r))
                    }
                }
            }
        }
        return parsed.map { out }
    }

    /// The index block of `series` in a sealed file whose footer starts at `footer` (nil: none).
    func block(of series: UInt32, footer: Int, size: Int) throws(AliceDBError) -> IndexBlock? {
        let bodyStart = footer + 12
        let count = Int(
            try FileIO.read(fd, offset: bodyStart, count: 4, path: path).withUnsafeBytes {
                $0.loadUnaligned(as: UInt32.self).littleEndian
            })
        var lo = 0
        var hi = min(count, (size - bodyStart) / IndexFooter.entryBytes)
        var found: IndexFooter.Entry? = nil
        while lo < hi {
            let mid = (lo + hi) / 2
            let at = bodyStart + 4 + mid * IndexFooter.entryBytes
            let raw = try FileIO.read(fd, offset: at, count: IndexFooter.entryBytes, path: path)
            let e = try index(
                at, raw.withUnsafeBytes { r in Result { () throws(DecodeError) in try IndexFooter.entry(r, at: 0) } })
            if e.series == series {
                found = e
                break
            }
            if e.series < series { lo = mid + 1 } else { hi = mid }
        }
        guard let e = found else { return nil }
        guard bodyStart + e.blockOffset + e.blockLength <= size else {
            throw AliceDBError(
                .corrupt, "index block of series \(series) runs past the file", path: path, offset: bodyStart)
        }
        let bytes = try FileIO.read(fd, offset: bodyStart + e.blockOffset, count: e.blockLength, path: path)
        let refs = try index(
            bodyStart + e.blockOffset,
            bytes.withUnsafeBytes { r in
                Result { () throws(DecodeError) in try IndexFooter.refs(r, e, file: id, dataEnd: footer) }
            })
        return IndexBlock(refs: refs, minFirst: e.minFirst, maxLast: e.maxLast, summary: e.summary)
    }

    /// Every ref of a sealed file with its series (reads the whole footer once).
    func allRefs(footer: Int, size: Int) throws(AliceDBError) -> [(UInt32, SegmentRef)] {
        try index(footer, try refs(footer: footer, size: size)).refs
    }

    private func index<T>(_ at: Int, _ result: Result<T, DecodeError>) throws(AliceDBError) -> T {
        switch result {
        case .success(let v): return v
        case .failure(let e):
            throw AliceDBError(
                .corrupt, "segment file index: \(e.message)", path: path, offset: at + e.offset, cause: e)
        }
    }

    // MARK: Frames

    /// Reads a file's frames one at a time from its data start, skipping corrupt ones; calls `body`
    /// with each frame's series, WAL position and segment refs.
    /// - Returns: where the last intact frame ends.
    /// - Parameters:
    ///   - faults: gets a line per corrupt segment or frame skipped, and the torn tail if reported.
    ///   - corrupt: counts the corrupt segments and frames skipped.
    func scanFrames(
        from start: Int, size: Int, reportTornTail: Bool, logger: Logger, faults: inout [String], corrupt: inout Int,
        _ body: (UInt32, WALPosition, [SegmentRef], SegmentSummary) throws(AliceDBError) -> Void
    ) throws(AliceDBError) -> Int {
        let p = path
        var offset = start
        var validEnd = start
        while offset < size {
            switch try readFrame(at: offset, size: size) {
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
                        refs.append(SegmentRef(file: id, offset: o, length: len, header: h, lsn: frame.position.lsn))
                        summary.merge(h.summary)
                    case .failure(let e):
                        corrupt += 1
                        faults.append("\(p): corrupt segment at byte \(o) skipped (\(e))")
                        logger.error(
                            "corrupt segment skipped", metadata: ["file": "\(p)", "offset": "\(o)", "reason": "\(e)"])
                    }
                }
                try body(frame.series, frame.position, refs, summary)
                offset = frame.end
                validEnd = offset
            case .failure(let error):
                if let next = try resync(after: offset, size: size) {
                    corrupt += 1
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
    func readFrame(at offset: Int, size: Int) throws(AliceDBError) -> Result<
        (SegmentFile.Frame, [UInt8]), DecodeError
    > {
        guard offset + 12 <= size else { return .failure(DecodeError("frame header cut off", offset: offset)) }
        let head = try FileIO.read(fd, offset: offset, count: 12, path: path)
        guard Array(head[0..<4]) == SegmentFile.frameMagic else {
            return .failure(DecodeError("bad frame magic", offset: offset))
        }
        let length = Int(head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian })
        guard length <= SegmentFile.maxFrameBytes, offset + 12 + length <= size else {
            return .failure(DecodeError("frame length \(length) runs past the file", offset: offset))
        }
        let bytes = try FileIO.read(fd, offset: offset, count: 12 + length, path: path)
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
    func resync(after offset: Int, size: Int) throws(AliceDBError) -> Int? {
        let window = 1 << 16
        var base = offset + 1
        while base + 12 <= size {
            let chunk = try FileIO.read(fd, offset: base, count: min(window + 3, size - base), path: path)
            var i = 0
            while i + 4 <= chunk.count {
                if chunk[i] == SegmentFile.frameMagic[0] && chunk[i + 1] == SegmentFile.frameMagic[1]
                    && chunk[i + 2] == SegmentFile.frameMagic[2] && chunk[i + 3] == SegmentFile.frameMagic[3],
                    case .success = try readFrame(at: base + i, size: size)
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
