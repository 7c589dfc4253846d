/// Exact timestamp coding: delta-of-delta with zero-run lengths, or Rice- or range-coded when
/// jittery or gappy (whichever is smallest).
///
/// A regular series costs one varint per segment (its interval); a gap costs a few bytes;
/// jitter costs a few bits per point. The first timestamp lives in the segment header.
package enum TimestampCodec {
    /// Modes 4 and 5 (bitwise range coding) are read, no longer written: 6 and 7 replace them.
    enum Mode: UInt8, CaseIterable {
        case single = 0
        case regular = 1
        case runs = 2
        case rice = 3
        case ranged = 4
        case scaled = 5
        case steps = 6
        case treeDods = 7
        case tracked = 8
        /// `treeDods` table-coded (`TableCoder`): the fast profile's coded mode.
        case tableDods = 9
        /// `steps` table-coded: the fast profile's clock on a grid with gaps.
        case tableSteps = 10
        /// Timestamps stored within a tolerance of the written ones, then coded by another mode
        /// (`TimestampCodec+Snapped.swift`).
        case snapped = 11
    }

    /// Encodes `ts[range]`, whose first element the caller stores separately.
    package static func encode(_ ts: UnsafeBufferPointer<Int64>, _ range: Range<Int>) -> [UInt8] {
        var w = ByteWriter(capacity: 16)
        let n = range.count
        if n <= 1 {
            w.u8(Mode.single.rawValue)
            return w.bytes
        }
        let lo = range.lowerBound
        let firstDelta = ts[lo + 1] &- ts[lo]
        var regular = true
        var i = lo + 2
        while i < range.upperBound {
            if ts[i] &- ts[i - 1] != firstDelta {
                regular = false
                break
            }
            i += 1
        }
        if regular {
            w.u8(Mode.regular.rawValue)
            w.svarint(firstDelta)
            return w.bytes
        }
        // The later deltas (wrapping; `overflowed` if one does not fit) and their deltas.
        var deltas = [Int64]()
        deltas.reserveCapacity(n - 2)
        var overflowed = false
        for j in (lo + 2)..<range.upperBound {
            let (d, o) = ts[j].subtractingReportingOverflow(ts[j - 1])
            deltas.append(d)
            overflowed = overflowed || o
        }
        var dods = [Int64]()
        dods.reserveCapacity(n - 2)
        var prev = firstDelta
        for d in deltas {
            dods.append(d &- prev)
            prev = d
        }
        var runs = ByteWriter(capacity: 32)
        runs.u8(Mode.runs.rawValue)
        runs.svarint(firstDelta)
        var zeros: UInt64 = 0
        for d in dods {
            if d == 0 {
                zeros += 1
            } else {
                runs.varint(zeros)
                runs.svarint(d)
                zeros = 0
            }
        }
        runs.varint(zeros)
        // Rice alternative for jittery clocks.
        let zig = dods.map(ZigZag.encode)
        let riceBytes = (RiceCodec.sizeInBits(zig) + 7) / 8
        // A clock on a coarse grid (hourly readings in milliseconds, with gaps): every
        // delta-of-delta is a multiple of the grid, which need not be coded.
        var grid: UInt64 = 0
        for d in dods where d != 0 { grid = gcd(grid, d.magnitude) }
        let scale = grid > 1 && grid <= UInt64(Int64.max) ? Int64(grid) : 1
        let fast = CodingProfile.current == .fast
        var best = ByteWriter(capacity: 32)
        best.u8(fast ? Mode.tableDods.rawValue : Mode.treeDods.rawValue)
        best.svarint(firstDelta)
        best.varint(UInt64(scale))
        let scaled = scale == 1 ? zig : dods.map { ZigZag.encode($0 / scale) }
        if fast {
            TableCoder.encode(scaled, into: &best)  // (tracked clocks are range-coded)
            if !overflowed, let steps = steps(deltas, firstDelta: firstDelta, table: true),
                steps.bytes.count < best.bytes.count
            {
                best = steps
            }
        } else {
            best.append(RangeCoder.encode(scaled, layout: .trees))
            // A gap of k steps is one event as a delta (k − 1 steps more than usual), two as
            // deltas of deltas (+, −): the usual step and the deltas' grid, then each delta's excess.
            if !overflowed, let steps = steps(deltas, firstDelta: firstDelta), steps.bytes.count < best.bytes.count {
                best = steps
            }
            // Arrival times only where the deltas leave something to gain (a clock on a grid with
            // gaps costs its steps a small fraction of a bit a point).
            if !overflowed, best.bytes.count * 64 > n,
                let tracked = tracked(ts, range, deltas: deltas, firstDelta: firstDelta),
                tracked.bytes.count < best.bytes.count
            {
                best = tracked
            }
        }
        if best.bytes.count < min(riceBytes, runs.count) { return best.bytes }
        if riceBytes + 1 + 10 < runs.count {
            w.u8(Mode.rice.rawValue)
            w.svarint(firstDelta)
            var bw = BitWriter(capacity: riceBytes + 8)
            RiceCodec.encode(zig, into: &bw)
            w.append(bw.finish())
            return w.bytes
        }
        return runs.bytes
    }

    /// Mode `steps`: `svarint firstDelta, varint grid g, svarint usual step s` (in grid units), then
    /// `delta / g − s` of every later point, range-coded (`table`: table-coded, mode `tableSteps`);
    /// `nil` when an excess overflows.
    static func steps(_ deltas: [Int64], firstDelta: Int64, table: Bool = false) -> ByteWriter? {
        guard !deltas.isEmpty else { return nil }
        var grid: UInt64 = 0
        for d in deltas { grid = gcd(grid, d.magnitude) }
        guard grid <= UInt64(Int64.max) else { return nil }
        let g = max(Int64(grid), 1)
        let units = deltas.map { $0 / g }
        // The most common step (ties: the smaller).
        let sorted = units.sorted()
        var usual = sorted[0]
        var bestRun = 0
        var run = 0
        for (i, u) in sorted.enumerated() {
            run = i > 0 && sorted[i - 1] == u ? run + 1 : 1
            if run > bestRun { (usual, bestRun) = (u, run) }
        }
        var excess = [UInt64]()
        excess.reserveCapacity(units.count)
        for u in units {
            let (e, overflow) = u.subtractingReportingOverflow(usual)
            if overflow { return nil }
            excess.append(ZigZag.encode(e))
        }
        var w = ByteWriter(capacity: 32)
        w.u8((table ? Mode.tableSteps : Mode.steps).rawValue)
        w.svarint(firstDelta)
        w.varint(UInt64(g))
        w.svarint(usual)
        if table {
            TableCoder.encode(excess, into: &w)
        } else {
            w.append(RangeCoder.encode(excess, layout: .trees))
        }
        return w
    }

    static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }

    /// Decodes `count` timestamps starting at `first`, appending them to `out`.
    package static func decode(
        _ r: inout ByteReader, count: Int, first: Int64, into out: inout [Int64]
    ) throws(DecodeError) {
        let modeByte = try r.u8("timestamp mode")
        if modeByte == Mode.snapped.rawValue && count >= 1 {
            try decodeSnapped(&r, count: count, first: first, into: &out)
            return
        }
        out.append(first)
        if count <= 1 {
            guard modeByte == Mode.single.rawValue || count == 0 else {
                throw DecodeError("timestamp mode for a single point", offset: r.offset)
            }
            return
        }
        guard let mode = Mode(rawValue: modeByte) else {
            throw DecodeError("unknown timestamp mode \(modeByte)", offset: r.offset - 1)
        }
        let firstDelta = try r.svarint("timestamp delta")
        var t = first &+ firstDelta
        out.append(t)
        switch mode {
        case .snapped:
            throw DecodeError("timestamp mode snapped inside snapped", offset: r.offset)
        case .single:
            throw DecodeError("timestamp mode single with \(count) points", offset: r.offset)
        case .regular:
            for _ in 2..<count {
                t = t &+ firstDelta
                out.append(t)
            }
        case .runs:
            var d = firstDelta
            var left = count - 2
            while true {
                let zeros = try r.count("timestamp run", limit: left)
                for _ in 0..<zeros {
                    t = t &+ d
                    out.append(t)
                }
                left -= zeros
                if left == 0 { break }
                d = d &+ (try r.svarint("delta of delta"))
                t = t &+ d
                out.append(t)
                left -= 1
            }
        case .tracked:
            try decodeTracked(&r, count: count, first: first, firstDelta: firstDelta, into: &out)
        case .steps, .tableSteps:
            let g = try r.varint("timestamp grid")
            guard g >= 1 && g <= UInt64(Int64.max) else { throw DecodeError("timestamp grid \(g)", offset: r.offset) }
            let usual = try r.svarint("usual timestamp step")
            var zig = [UInt64]()
            zig.reserveCapacity(count - 2)
            if mode == .tableSteps {
                try TableCoder.decode(count: count - 2, from: r.bytes, r.offset, r.end, into: &zig)
            } else {
                try RangeCoder.decode(count: count - 2, from: r.bytes, r.offset, r.end, layout: .trees, into: &zig)
            }
            for z in zig {
                t = t &+ (ZigZag.decode(z) &+ usual) &* Int64(g)
                out.append(t)
            }
            r.offset = r.end
        case .rice, .ranged, .scaled, .treeDods, .tableDods:
            var scale: Int64 = 1
            if mode == .scaled || mode == .treeDods || mode == .tableDods {
                let g = try r.varint("timestamp grid")
                guard g > (mode == .scaled ? 1 : 0) && g <= UInt64(Int64.max) else {
                    throw DecodeError("timestamp grid \(g)", offset: r.offset)
                }
                scale = Int64(g)
            }
            var zig = [UInt64]()
            zig.reserveCapacity(count - 2)
            if mode == .tableDods {
                try TableCoder.decode(count: count - 2, from: r.bytes, r.offset, r.end, into: &zig)
            } else if mode != .rice {
                let layout: RangeCoder.Layout = mode == .treeDods ? .trees : .bitwise
                try RangeCoder.decode(count: count - 2, from: r.bytes, r.offset, r.end, layout: layout, into: &zig)
            } else {
                var br = BitReader(r.bytes, offset: r.offset, count: r.remaining)
                try RiceCodec.decode(count: count - 2, from: &br, into: &zig)
            }
            var d = firstDelta
            for z in zig {
                d = d &+ ZigZag.decode(z) &* scale
                t = t &+ d
                out.append(t)
            }
            r.offset = r.end
        }
    }
}
