internal import AliceFormat
internal import Logging

/// Opening a store's directory: every file's index footer read, or its frames scanned when it has
/// none (a writer then seals it); files a finished compaction replaced dropped; torn tails
/// truncated (read-write) and corrupt frames skipped with an error log, keeping what is intact.
///
/// The loader decides what each file holds and what to repair; the store forgets its index first
/// (`SegmentStore.forgetIndex`), then takes in each file the loader read (`SegmentStore.adopt`), and
/// reads the files through its own descriptors.
struct SegmentLoader {
    let store: SegmentStore

    private var dir: String { store.dir }
    private var readOnly: Bool { store.readOnly }
    private var logger: Logger { store.logger }

    /// Loads the directory into the store's index.
    func load() throws(AliceDBError) {
        if !readOnly { try FileIO.makeDirectory(dir) }
        store.forgetIndex()
        guard FileIO.exists(dir) else { return }
        var replaced = Set<UInt64>()
        var found = [UInt64]()
        for name in try FileIO.list(dir) {
            if name.hasSuffix(".tmp") {
                if !readOnly { try FileIO.remove(dir + "/" + name) }  // an unfinished compaction
                continue
            }
            guard name.hasSuffix(".seg"), let n = UInt64(name.dropLast(4), radix: 16) else { continue }
            store.highestID = max(store.highestID, n)
            guard let header = try readHeader(n) else { continue }
            store.dataStart[n] = header.start
            replaced.formUnion(header.replaces)
            found.append(n)
        }
        for n in found.sorted() {
            if replaced.contains(n) {
                store.closeFile(n)
                if !readOnly { try FileIO.remove(store.path(n)) }
                store.dataStart[n] = nil
                continue
            }
            try loadFile(n)
        }
    }

    /// The file header (nil: the file is skipped or removed, with the reason logged).
    private func readHeader(_ n: UInt64) throws(AliceDBError) -> (start: Int, replaces: [UInt64])? {
        let p = store.path(n)
        let fd = try store.fd(n)
        let size = try FileIO.size(fd, path: p)
        let failure: DecodeError
        switch try store.file(n).header(size: size) {
        case .success(let h): return h
        case .failure(let e): failure = e
        }
        store.closeFile(n)
        if size < 32 && !readOnly {
            logger.warning("removing a segment file with a torn header", metadata: ["file": "\(p)"])
            try FileIO.remove(p)
        } else {
            store.corruptFrames += 1
            store.faults.append("\(p): unreadable header (\(failure)); file skipped")
            logger.error(
                "unreadable segment file header; file skipped", metadata: ["file": "\(p)", "reason": "\(failure)"])
        }
        return nil
    }

    private func loadFile(_ n: UInt64) throws(AliceDBError) {
        let p = store.path(n)
        let fd = try store.fd(n)
        let size = try FileIO.size(fd, path: p)
        if try loadFooter(n, size: size) { return }
        var refs = [UInt32: [SegmentRef]]()
        var flushed = [UInt32: WALPosition]()
        var summaries = [UInt32: SegmentSummary]()
        var f = FileFacts(size: size)
        let validEnd = try store.file(n).scanFrames(
            from: store.dataStart[n] ?? size, size: size, reportTornTail: readOnly, logger: logger,
            faults: &store.faults, corrupt: &store.corruptFrames
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
        if flushed.isEmpty && !readOnly {
            // Created just before a crash and never written: nothing to keep.
            store.closeFile(n)
            try FileIO.remove(p)
            return
        }
        for list in refs.values { for r in list { f.add(r) } }
        f.series = flushed.count
        store.adopt(
            n, f, refs: refs.lazy.flatMap { s, list in list.lazy.map { (s, $0) } },
            flushed: flushed.lazy.map { ($0.key, $0.value) }, loose: (refs, flushed, summaries))
        if !readOnly { try store.seal(n) }
    }

    /// Takes a file's index footer into the store; false when it has none that checks out.
    private func loadFooter(_ n: UInt64, size: Int) throws(AliceDBError) -> Bool {
        guard let start = store.dataStart[n], let result = try store.file(n).footer(size: size, dataStart: start)
        else {
            return false
        }
        let footer: SegmentFileReader.Footer
        switch result {
        case .success(let f): footer = f
        case .failure(let e):
            logger.warning(
                "segment file index footer unusable; scanning the file",
                metadata: ["file": "\(store.path(n))", "reason": "\(e)"])
            return false
        }
        var f = FileFacts(size: size, footer: footer.start)
        for (_, r) in footer.refs { f.add(r) }
        f.series = footer.flushed.count
        store.adopt(n, f, refs: footer.refs, flushed: footer.flushed, loose: nil)
        return true
    }
}
