/// Consecutive short segments of one series made into one (housekeeping's merge,
/// `RecompressionJob`): a gateway flushes a series every few minutes, so its segments hold a few
/// hundred points and each pays ~90 bytes of header, frame and index entry besides a coder that
/// starts afresh.
///
/// The contract carries over because the stored points do: what the merged segment decodes to is
/// checked to be the parts' stored timestamps and values, bit for bit, so every value stays within
/// its bound of the original it was verified against (gone by now), and the header keeps the
/// parts' exact summaries merged and the largest of their max errors. Two forms compete:
/// - lossless: the stored values are the originals, so the whole run is fitted and coded afresh
///   (`Competition.encode`, which may end in more than one segment);
/// - any bound: the parts under one header (`SegmentParts`), each value payload kept as it was, the
///   timestamps coded once.
package enum SegmentMerge {
    /// What a segment costs in its file besides its bytes: the frame's share and the index entry.
    package static let perSegmentOverhead = 33

    /// Merges `raws` (whole segments, magic to CRC, of one series, each after the one before in
    /// time, together at most `SegmentFormat.maxPoints` points).
    /// - Returns: the merged segments, smaller in all than `raws` (each counted with
    ///   `perSegmentOverhead`); nil where the run does not qualify, does not decode, or would not shrink.
    /// - Complexity: a decode of each part, the competition over the run where lossless, and a
    ///   decode of the result: O(n) beside the competition's own cost.
    package static func merge(_ raws: [[UInt8]]) -> [EncodedSegment]? {
        guard let run = Run(raws) else { return nil }
        var candidates = [[run.partsSegment()]]
        if let refit = run.refit() { candidates.append(refit) }
        if let regrid = run.regrid() { candidates.append([regrid]) }
        let cost: ([[UInt8]]) -> Int = { $0.reduce(0) { $0 + $1.count + perSegmentOverhead } }
        let best = candidates.filter { run.matches($0) }.min { cost($0.map(\.bytes)) < cost($1.map(\.bytes)) }
        guard let best, cost(best.map(\.bytes)) < cost(raws) else { return nil }
        return best
    }

    /// The run as one `parts` segment, checked, whatever its size; nil where it does not qualify.
    package static func partsForm(_ raws: [[UInt8]]) -> EncodedSegment? {
        guard let run = Run(raws) else { return nil }
        let s = run.partsSegment()
        return run.matches([s]) ? s : nil
    }

    /// A run of segments that qualifies for a merge, decoded.
    struct Run {
        var decoded = [DecodedSegment]()
        var parts = [SegmentParts.Part]()
        let ts: [Int64]
        let v: [Double]
        /// The merged header: the parts' summaries merged, the largest max errors.
        var header: SegmentHeader
        /// The coding of what is coded afresh: fast only where every part was.
        let profile: CodingProfile

        init?(_ raws: [[UInt8]]) {
            guard raws.count >= 2 else { return nil }
            for raw in raws {
                let parsed = raw.withUnsafeBytes { r -> (DecodedSegment, SegmentParts.Part)? in
                    guard let (h, _, valueRange) = try? SegmentFormat.header(r), let d = try? SegmentFormat.decode(r)
                    else { return nil }
                    return (d, SegmentParts.Part(modelByte: r[5], count: h.count, payload: Array(r[valueRange])))
                }
                guard let (d, part) = parsed, d.header.kind != .parts else { return nil }
                if let last = decoded.last?.header {
                    let h = d.header
                    guard h.seriesID == last.seriesID, h.bound == last.bound, h.firstTimestamp > last.lastTimestamp
                    else { return nil }
                }
                decoded.append(d)
                parts.append(part)
            }
            let n = decoded.reduce(0) { $0 + $1.header.count }
            guard n <= SegmentFormat.maxPoints else { return nil }
            // A series' segments whose timestamps did not move are stored exact (tolerance 0): the
            // run keeps the series' tolerance where any part used it.
            let tolerances = Set(decoded.map(\.header.timeTolerance)).subtracting([0])
            guard tolerances.count <= 1 else { return nil }
            let maxTimeError = decoded.map(\.header.maxTimeError).max() ?? 0
            ts = decoded.flatMap(\.timestamps)
            v = decoded.flatMap(\.values)
            let first = decoded[0].header
            // Lossless: the stored values are the originals, and a reader checks the header's sum
            // against theirs added in order (a merged sum rounds differently). Bounded: the parts'
            // exact summaries of the originals, merged.
            var summary = SegmentSummary.empty
            if first.bound.isLossless {
                summary = v.withUnsafeBufferPointer { SegmentSummary($0, 0..<$0.count) }
            } else {
                for d in decoded { summary.merge(d.header.summary) }
            }
            header = SegmentHeader(
                seriesID: first.seriesID, kind: .parts, firstTimestamp: first.firstTimestamp,
                lastTimestamp: decoded[decoded.count - 1].header.lastTimestamp, bound: first.bound, summary: summary,
                maxError: decoded.map(\.header.maxError).max() ?? 0,
                profile: decoded.contains { $0.header.profile == .fast } ? .fast : .compact)
            (header.timeTolerance, header.maxTimeError) = (maxTimeError > 0 ? tolerances.first ?? 0 : 0, maxTimeError)
            profile = decoded.allSatisfy { $0.header.profile == .fast } ? .fast : .compact
        }

        /// `segment` with its timestamps marked snapped where the run's were.
        func marked(_ segment: EncodedSegment) -> EncodedSegment? {
            header.timeTolerance == 0
                ? segment
                : TimeSnapping.marked(segment, tolerance: header.timeTolerance, maxError: header.maxTimeError)
        }

        /// The run's timestamps coded once (plain: `marked` adds the tolerance).
        func timestampBytes() -> [UInt8] {
            CodingProfile.$current.withValue(profile) {
                ts.withUnsafeBufferPointer { TimestampCodec.encode($0, 0..<$0.count) }
            }
        }

        /// One segment of `kind` with `payload`, under the run's header.
        func segment(_ kind: ModelKind, _ payload: [UInt8], _ tsBytes: [UInt8]) -> EncodedSegment {
            var h = header
            h.kind = kind
            (h.timeTolerance, h.maxTimeError) = (0, 0)
            let derived = kind.codesOnBoundGrid && QuantizedCodec.stepFromBound(h.bound)
            let plain = EncodedSegment(
                header: h,
                bytes: SegmentFormat.encode(header: h, timestampBytes: tsBytes, valueBytes: payload, derived: derived))
            return marked(plain) ?? plain
        }

        /// The parts under one header, their timestamps coded once.
        func partsSegment() -> EncodedSegment {
            segment(.parts, SegmentParts.encode(parts), timestampBytes())
        }

        /// A bounded run of grid-coded parts as one quantised segment of the stored values, where
        /// that gives them back exactly (`matches` checks): the parts' grids are often one, as every
        /// predictor but the mean of the last two keeps values on multiples of the step; one coder
        /// over the run instead of one per part.
        func regrid() -> EncodedSegment? {
            guard !header.bound.isLossless,
                parts.allSatisfy({
                    ModelKind(rawValue: $0.modelByte & ~SegmentFormat.derivedFromHeader)?.codesOnBoundGrid == true
                })
            else { return nil }
            // Exactly: a value the run's grid does not reproduce (where a part's chain began) is an exception.
            let payload = CodingProfile.$current.withValue(profile) {
                v.withUnsafeBufferPointer {
                    QuantizedCodec.encode($0, 0..<$0.count, bound: header.bound, exactly: true)
                }
            }
            return payload.map { segment(.quantized, $0, timestampBytes()) }
        }

        /// Lossless runs only (the stored values are the originals): fitted and coded afresh.
        func refit() -> [EncodedSegment]? {
            guard header.bound.isLossless, header.maxError == 0 else { return nil }
            let fitted = ts.withUnsafeBufferPointer { t in
                v.withUnsafeBufferPointer { vs in
                    Competition.encode(
                        seriesID: header.seriesID, timestamps: t, values: vs, range: 0..<t.count, bound: header.bound,
                        options: FitterOptions(profile: profile))
                }
            }
            let out = fitted.map(marked)
            return out.allSatisfy { $0 != nil } ? out.compactMap { $0 } : nil
        }

        /// Whether `segments` decode to exactly `ts` and `v` (values bit for bit) and keep the run's
        /// bound, time tolerance and exact summary (a merged sum may round differently: a refit's
        /// summary is of the same values, so only its count, min and max must agree).
        func matches(_ segments: [EncodedSegment]) -> Bool {
            var pos = 0
            var summary = SegmentSummary.empty
            for s in segments {
                guard let d = try? SegmentFormat.decode(s.bytes), d.inconsistency == nil,
                    d.header.bound == header.bound,
                    d.header.timeTolerance == header.timeTolerance, d.header.maxError <= header.maxError,
                    d.header.maxTimeError <= max(header.maxTimeError, 0), pos + d.header.count <= ts.count
                else { return false }
                for j in 0..<d.header.count {
                    guard d.timestamps[j] == ts[pos + j], d.values[j].bitPattern == v[pos + j].bitPattern else {
                        return false
                    }
                }
                summary.merge(d.header.summary)
                pos += d.header.count
            }
            return pos == ts.count && summary.count == header.summary.count
                && summary.nanCount == header.summary.nanCount
                && summary.min.bitPattern == header.summary.min.bitPattern
                && summary.max.bitPattern == header.summary.max.bitPattern
        }
    }
}
