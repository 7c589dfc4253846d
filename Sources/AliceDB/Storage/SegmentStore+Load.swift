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
        closeFiles()
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
        let failure: DecodeError
        switch try file(n).header(size: size) {
        case .success(let h): return h
        case .failure(let e): failure = e
        }
        if let fd = fds.removeValue(forKey: n) { FileIO.close(fd) }
        if size < 32 && !readOnly {
            logger.warning("removing a segment file with a torn header", metadata: ["file": "\(p)"])
            try FileIO.remove(p)
        } else {
            corruptFrames += 1
            faults.append("\(p): unreadable header (\(failure)); file skipped")
            logger.error(
                "unreadable segment file header; file skipped", metadata: ["file": "\(p)", "reason": "\(failure)"])
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
        let validEnd = try file(n).scanFrames(
            from: dataStart[n] ?? size, size: size, reportTornTail: readOnly, logger: logger, faults: &faults,
            corrupt: &corruptFrames
        ) {
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
        guard let start = dataStart[n], let result = try file(n).footer(size: size, dataStart: start) else {
            return false
        }
        let footer: SegmentFileReader.Footer
        switch result {
        case .success(let f): footer = f
        case .failure(let e):
            logger.warning(
                "segment file index footer unusable; scanning the file",
                metadata: ["file": "\(path(n))", "reason": "\(e)"])
            return false
        }
        var f = FileFacts(size: size, footer: footer.start)
        for (s, r) in footer.refs {
            f.add(r)
            totals[s, default: SeriesTotals()].add(r)
        }
        for (s, position) in footer.flushed {
            totals[s, default: SeriesTotals()].flushed = max(totals[s]?.flushed ?? .start, position)
        }
        f.series = footer.flushed.count
        facts[n] = f
        fileIDs.append(n)
        return true
    }
}
