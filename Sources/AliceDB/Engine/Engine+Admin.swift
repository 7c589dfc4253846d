internal import AliceFormat
internal import Logging

extension Engine {
    func seriesStats(_ info: SeriesInfo) -> SeriesStats {
        let t = store.totals[info.id] ?? SeriesTotals()
        var models = [String: Int]()
        for k in ModelKind.allCases where t.modelPoints[Int(k.rawValue)] > 0 {
            models[k.description] = t.modelPoints[Int(k.rawValue)]
        }
        let points = t.points
        let bytes = t.bytes
        var first: Int64? = t.segments > 0 ? t.first : nil
        var last: Int64? = t.segments > 0 ? t.last : nil
        let buffered = mem.buffers[info.id]?.count ?? 0
        if let b = mem.buffers[info.id], b.count > 0 {
            first = min(first ?? b.first, b.first)
            last = max(last ?? b.last, b.last)
        }
        let total = points + buffered
        return SeriesStats(
            name: info.name, points: total, bufferedPoints: buffered, segments: t.segments, bytes: bytes,
            bytesPerPoint: total > 0 ? Double(bytes) / Double(total) : 0, models: models,
            firstTimestamp: first, lastTimestamp: last, bound: info.options.bound)
    }

    /// Bytes of every regular file under the data directory.
    func directoryBytes() -> (total: Int, wal: Int) {
        let wal = FileIO.directoryBytes(path + "/wal")
        var total = wal + FileIO.directoryBytes(path + "/segments")
        for name in ["catalog.json", "LOCK"] { total += FileIO.size(path: path + "/" + name) ?? 0 }
        return (total, wal)
    }

    func stats(series name: String?) throws(AliceDBError) -> DatabaseStats {
        try checkOpen()
        try wal?.flushBuffer()
        let infos: [SeriesInfo]
        if let name {
            guard let s = catalog.byName[name] else {
                throw AliceDBError(.notFound, "unknown series '\(name)'", path: path)
            }
            infos = [s]
        } else {
            infos = catalog.byID.values.sorted { $0.id < $1.id }
        }
        let per = infos.map(seriesStats)
        var models = [String: Int]()
        for s in per { for (k, v) in s.models { models[k, default: 0] += v } }
        let points = per.reduce(0) { $0 + $1.points }
        let (dirBytes, walBytes) = directoryBytes()
        let bytes = name == nil ? dirBytes : per.reduce(0) { $0 + $1.bytes }
        return DatabaseStats(
            points: points, bufferedPoints: per.reduce(0) { $0 + $1.bufferedPoints },
            segments: per.reduce(0) { $0 + $1.segments }, bytes: bytes,
            bytesPerPoint: points > 0 ? Double(bytes) / Double(points) : 0, models: models,
            segmentFiles: store.fileCount, walBytes: walBytes, series: per, counters: counters)
    }

    func inspect(_ series: UInt32) throws(AliceDBError) -> [SegmentInfo] {
        try checkOpen()
        var refs = [SegmentRef]()
        for n in store.fileIDs { refs += try store.refs(of: series, in: n) }
        refs.sort(by: SegmentRef.inOrder)
        var out = [SegmentInfo]()
        for r in refs {
            let (h, tsBytes, valueBytes) = try store.parts(r)
            out.append(
                SegmentInfo(
                    model: r.kind.description, firstTimestamp: r.firstTimestamp, lastTimestamp: r.lastTimestamp,
                    points: r.count, bytes: r.length, timestampBytes: tsBytes, valueBytes: valueBytes,
                    maxError: h.maxError, bound: h.bound,
                    file: SegmentFile.fileName(r.file), offset: r.offset))
        }
        return out
    }

    /// Re-reads every segment file frame by frame (frame CRCs, torn tails), then decodes every
    /// segment the index names: CRCs, structure, agreement with the index, and that the decoded
    /// values agree with the exact summary within the segment's bound (bit-exactly when lossless).
    func verify() throws(AliceDBError) -> VerifyReport {
        try checkOpen()
        var report = VerifyReport()
        var faults = store.faults
        func fault(_ f: String) { if !faults.contains(f) { faults.append(f) } }
        for n in store.fileIDs {
            var found = [String]()
            let size = store.facts[n]?.footer ?? FileIO.size(path: store.path(n)) ?? 0
            _ = try store.scanFrames(n, size: size, reportTornTail: true, faults: &found) { _, _, _, _ in }
            for f in found { fault(f) }
        }
        var unknown = Set<UInt32>()
        for n in store.fileIDs {
            try store.forEachRef(in: n) { series, r throws(AliceDBError) in
                let name = catalog.byID[series]?.name ?? "#\(series)"
                if catalog.byID[series] == nil, unknown.insert(series).inserted {
                    fault("segments of series id \(series) missing from the catalog")
                }
                report.segments += 1
                report.points += r.count
                let place = "\(name): segment in \(SegmentFile.fileName(r.file)) at byte \(r.offset)"
                let bytes: [UInt8]
                do { bytes = try store.rawBytes(r) } catch {
                    fault("\(place): \(error)")
                    return
                }
                let d: DecodedSegment
                do { d = try SegmentFormat.decode(bytes) } catch {
                    fault("\(place): \(error)")
                    return
                }
                let h = d.header
                if h.seriesID != series || h.firstTimestamp != r.firstTimestamp || h.lastTimestamp != r.lastTimestamp
                    || h.count != r.count || h.kind != r.kind
                {
                    fault("\(place): the index disagrees with the segment")
                }
                if let f = d.inconsistency { fault("\(place): \(f)") }
            }
        }
        report.faults = faults
        return report
    }

    func compact(smallBytes: Int) throws(AliceDBError) -> Int {
        try checkWritable()
        try flushAll()
        let shipped = shippedFiles()
        let done = try store.compact(smallBytes: smallBytes, eligible: compactable)
        try markShipped(done.files, from: shipped)
        return done.merged
    }

    /// Deletes segments whose newest point is older than `olderThan`, then the oldest segments
    /// until the segment files fit in `maxBytes`. Counted and logged. In an outbox, age spares
    /// what the uplink has not shipped yet; only the disk budget deletes that (counted apart).
    func retain(olderThan: Int64?, maxBytes: Int?) throws(AliceDBError) -> (segments: Int, points: Int) {
        try checkWritable()
        var budgetCut: Int64? = nil
        if let maxBytes, store.totalBytes > maxBytes,
            let t = try store.retentionCutoff(toFree: store.totalBytes - maxBytes)
        {
            budgetCut = t
        }
        let outbox = self.outbox
        let ageCut = olderThan
        guard ageCut != nil || budgetCut != nil else { return (0, 0) }
        // Files with something to delete: by the budget, or by age where all of it is shipped.
        let files = store.fileIDs.filter { n in
            guard let f = store.facts[n], f.refs > 0 else { return false }
            if let b = budgetCut, f.minLast < b { return true }
            guard let a = ageCut, f.minLast < a else { return false }
            guard let outbox, !outbox.fullyShipped(n, store) else { return true }
            // The cursor's file: only if an aged segment in it is shipped (else nothing would go).
            guard n == outbox.state.cursor.file else { return false }
            var any = false
            try? store.forEachRef(in: n) { _, r throws(AliceDBError) in
                if r.lastTimestamp < a && outbox.state.isAcknowledged(file: n, offset: r.offset) { any = true }
            }
            return any
        }
        guard !files.isEmpty else { return (0, 0) }
        var unshipped = (segments: 0, points: 0)
        let shipped = shippedFiles()
        let done = try store.rewrite(files: files) { r in
            let acked = outbox?.state.isAcknowledged(file: r.file, offset: r.offset) ?? true
            let byBudget = budgetCut.map { r.lastTimestamp < $0 } ?? false
            let byAge = ageCut.map { r.lastTimestamp < $0 } ?? false
            let drop = byBudget || (byAge && acked)
            if drop && !acked {
                unshipped.segments += 1
                unshipped.points += r.count
            }
            return !drop
        }
        try markShipped(done.files, from: shipped)
        guard done.segments > 0 else { return (0, 0) }
        counters.retentionSegments += done.segments
        counters.retentionPoints += done.points
        counters.retentionUnshippedSegments += unshipped.segments
        counters.retentionUnshippedPoints += unshipped.points
        logger.warning(
            "retention deleted segments",
            metadata: [
                "segments": "\(done.segments)", "points": "\(done.points)",
                "unshipped_segments": "\(unshipped.segments)", "unshipped_points": "\(unshipped.points)",
                "older_than": "\(olderThan.map(String.init) ?? "-")",
                "max_bytes": "\(maxBytes.map(String.init) ?? "-")",
            ])
        return (done.segments, done.points)
    }
}
