internal import AliceFormat

/// Points, bytes and model mix per series and in total: segment totals plus MemTable buffers.
struct StatsCollector {
    let path: String
    let store: SegmentStore
    let mem: MemTable
    let catalog: Catalog

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
            firstTimestamp: first, lastTimestamp: last, bound: info.options.bound,
            profile: info.options.profile ?? .compact, timeTolerance: info.options.timeTolerance)
    }

    /// Bytes of every regular file under the data directory.
    func directoryBytes() -> (total: Int, wal: Int) {
        let wal = FileIO.directoryBytes(path + "/wal")
        var total = wal + FileIO.directoryBytes(path + "/segments")
        for name in ["catalog.json", "LOCK"] { total += FileIO.size(path: path + "/" + name) ?? 0 }
        return (total, wal)
    }

    func stats(series name: String?, counters: WriteCounters) throws(AliceDBError) -> DatabaseStats {
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
}
