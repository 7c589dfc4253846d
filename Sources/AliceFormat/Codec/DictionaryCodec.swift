/// Lossless coding of series that reuse few distinct values (a sensor's quantisation levels,
/// float32 readings printed in decimal): a sorted table of the distinct values, then each point's
/// rank in that table, predicted from the previous ranks and Rice-coded.
///
/// Ranks move like the values do, so a smooth series gives small rank steps whatever the values'
/// digits look like. The table itself is coded with the decimal or significant-digit codec,
/// whichever is smaller, else XOR.
package enum DictionaryCodec {
    /// How the table of distinct values is coded (the same bytes as those codecs' model kinds).
    enum TableCoding: UInt8 {
        case decimal = 4
        case xor = 5
        case significant = 10
    }

    /// Worth trying only if distinct values are at most this share of the points.
    static let maxDistinctShare = 2

    package static func encode(_ v: UnsafeBufferPointer<Double>, _ range: Range<Int>) -> [UInt8]? {
        let n = range.count
        guard n >= 64 else { return nil }
        let limit = n / maxDistinctShare
        var seen = Set<UInt64>(minimumCapacity: min(limit, 4096))
        var exceptions = Exceptions()
        for i in range {
            let x = v[i]
            guard x.isFinite, x.bitPattern != (-0.0).bitPattern else {
                exceptions.add(i - range.lowerBound, x)
                if exceptions.count > n / 8 { return nil }
                continue
            }
            if seen.insert(x.bitPattern).inserted && seen.count > limit { return nil }
        }
        let table = seen.map { Double(bitPattern: $0) }.sorted()
        var rankOf = [UInt64: Int64](minimumCapacity: table.count)
        for (r, x) in table.enumerated() { rankOf[x.bitPattern] = Int64(r) }
        var ranks = [Int64]()
        ranks.reserveCapacity(n)
        var last: Int64 = 0
        for i in range {
            if let r = rankOf[v[i].bitPattern], v[i].bitPattern != (-0.0).bitPattern {
                last = r
            }
            ranks.append(last)  // exceptions repeat the previous rank (a zero residual)
        }
        let coded: [(TableCoding, [UInt8])] = table.withUnsafeBufferPointer { t in
            let decimals = DecimalCodec.decimals(t, 0..<t.count)
            return [
                (TableCoding.decimal, DecimalCodec.encode(t, 0..<t.count, decimals: decimals)),
                (.significant, SignificantCodec.encode(t, 0..<t.count, decimals: decimals, widths: .tree)),
            ]
            .compactMap { kind, bytes in bytes.map { (kind, $0) } }
        }
        let (tableKind, tableBytes) =
            coded.min { $0.1.count < $1.1.count }
            ?? (.xor, table.withUnsafeBufferPointer { XORCodec.encode($0, 0..<$0.count) })
        var w = ByteWriter(capacity: tableBytes.count + n + 16)
        w.u8(tableKind.rawValue)
        w.varint(UInt64(table.count))
        w.varint(UInt64(tableBytes.count))
        w.append(tableBytes)
        Predictor.writeStream(ranks, exceptions: exceptions, into: &w)
        return w.bytes
    }

    package static func decode(_ r: inout ByteReader, count: Int, into out: inout [Double]) throws(DecodeError) {
        let kindByte = try r.u8("table codec")
        let size = try r.count("table size", limit: count)
        let length = try r.count("table length", limit: r.remaining)
        var table = [Double]()
        table.reserveCapacity(size)
        var tr = ByteReader(r.bytes, from: r.offset, to: r.offset + length)
        switch TableCoding(rawValue: kindByte) {
        case .decimal: try DecimalCodec.decode(&tr, count: size, into: &table)
        case .xor: try XORCodec.decode(&tr, count: size, into: &table)
        case .significant: try SignificantCodec.decode(&tr, count: size, into: &table)
        default: throw DecodeError("unknown table codec \(kindByte)", offset: r.offset - 1)
        }
        guard table.count == size else { throw DecodeError("table size disagrees", offset: r.offset) }
        r.offset += length
        let (ranks, exceptions) = try Predictor.readStream(&r, count: count)
        let base = out.count
        var fixed: Set<Int>? = nil
        for (i, k) in ranks.enumerated() {
            if k >= 0 && k < Int64(size) {
                out.append(table[Int(k)])
                continue
            }
            // A rank outside the table is corruption unless an exception overwrites that point.
            if fixed == nil { fixed = Set(exceptions.positions) }
            guard fixed!.contains(i) else {
                throw DecodeError("rank \(k) outside a table of \(size)", offset: r.offset)
            }
            out.append(0)
        }
        exceptions.apply(to: &out, base: base)
    }
}
