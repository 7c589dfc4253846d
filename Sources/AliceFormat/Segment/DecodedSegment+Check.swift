extension DecodedSegment {
    /// What disagrees between the decoded points and the segment's own header (nil: nothing):
    /// order, NaN count, summary, and the bound's slack for lossy segments.
    package var inconsistency: String? {
        let d = self
        let h = d.header
        var s = SegmentSummary.empty
        s.count = d.values.count
        for v in d.values { s.add(v) }
        for i in 1..<max(1, d.timestamps.count) where d.timestamps[i] < d.timestamps[i - 1] {
            return "timestamps out of order at point \(i)"
        }
        if s.nanCount != h.summary.nanCount { return "NaN count \(s.nanCount) ≠ header \(h.summary.nanCount)" }
        if h.bound.isLossless {
            if h.maxError != 0 { return "lossless segment claims max error \(h.maxError)" }
            if s.min != h.summary.min || s.max != h.summary.max {
                return "decoded min/max \(s.min)/\(s.max) ≠ header \(h.summary.min)/\(h.summary.max)"
            }
            if s.sum.bitPattern != h.summary.sum.bitPattern && !(s.sum.isNaN && h.summary.sum.isNaN) {
                return "decoded sum \(s.sum) ≠ header \(h.summary.sum)"
            }
            return nil
        }
        // Lossy: the stored values may sit anywhere within the bound of the originals.
        // The largest error any point may carry: from the summary's extremes, or (relative bounds
        // with ±inf among the values) from the decoded magnitudes, since |original| ≤ |stored| / (1 − pct).
        var slack = max(h.bound.allowed(h.summary.min), h.bound.allowed(h.summary.max), h.bound.absolute)
        if h.bound.relativePercent > 0 {
            guard h.bound.relativePercent < 100 else { return nil }
            let largest = d.values.reduce(0.0) { $1.isFinite ? max($0, abs($1)) : $0 }
            slack = max(slack, h.bound.relativePercent / 100 * largest / (1 - h.bound.relativePercent / 100))
        }
        if h.maxError > slack * (1 + 1e-12) { return "max error \(h.maxError) exceeds the bound \(h.bound)" }
        if s.count - s.nanCount > 0 {
            if s.min < h.summary.min - slack * (1 + 1e-9) || s.max > h.summary.max + slack * (1 + 1e-9) {
                return "decoded range \(s.min)…\(s.max) leaves \(h.summary.min)…\(h.summary.max) ± \(slack)"
            }
            let sumSlack = slack * Double(s.count) * (1 + 1e-9) + abs(h.summary.sum) * 1e-12
            if s.sum.isFinite && h.summary.sum.isFinite && abs(s.sum - h.summary.sum) > sumSlack {
                return "decoded sum \(s.sum) is further than \(sumSlack) from \(h.summary.sum)"
            }
        }
        return nil
    }
}

/// Series names: what every store and the uplink accept.
package enum SeriesName {
    /// - Throws: `.invalidArgument` saying what a name must be.
    package static func validate(_ name: String) throws(AliceDBError) {
        guard !name.isEmpty, name.utf8.count <= 1024, !name.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw AliceDBError(.invalidArgument, "series name must be 1–1024 bytes of printable UTF-8")
        }
    }
}
