internal import AliceFormat

/// What `inspect` and `verify` read: the store's segments, checked against the index and the catalog.
struct StoreAudit {
    let store: SegmentStore
    let catalog: Catalog

    func inspect(_ series: UInt32) throws(AliceDBError) -> [SegmentInfo] {
        var refs = [SegmentRef]()
        for n in store.fileIDs { refs += try store.refs(of: series, in: n) }
        refs.sort(by: SegmentRef.inOrder)
        var out = [SegmentInfo]()
        for r in refs {
            let (h, tsBytes, valueBytes) = try store.file(r.file).parts(r)
            out.append(
                SegmentInfo(
                    model: r.kind.description, firstTimestamp: r.firstTimestamp, lastTimestamp: r.lastTimestamp,
                    points: r.count, bytes: r.length, timestampBytes: tsBytes, valueBytes: valueBytes,
                    maxError: h.maxError, bound: h.bound,
                    file: SegmentFile.fileName(r.file), offset: r.offset, profile: h.profile,
                    timeTolerance: h.timeTolerance, maxTimeError: h.maxTimeError))
        }
        return out
    }

    /// Re-reads every segment file frame by frame (frame CRCs, torn tails), then decodes every
    /// segment the index names: CRCs, structure, agreement with the index, and that the decoded
    /// values agree with the exact summary within the segment's bound (bit-exactly when lossless).
    func verify() throws(AliceDBError) -> VerifyReport {
        var report = VerifyReport()
        var faults = store.faults
        func fault(_ f: String) { if !faults.contains(f) { faults.append(f) } }
        for n in store.fileIDs {
            var found = [String]()
            let size = store.facts[n]?.footer ?? FileIO.size(path: store.path(n)) ?? 0
            var corrupt = 0
            _ = try store.file(n).scanFrames(
                from: store.dataStart[n] ?? size, size: size, reportTornTail: true, logger: store.logger,
                faults: &found, corrupt: &corrupt
            ) { _, _, _, _ in }
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
}
