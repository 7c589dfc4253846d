/// The tail every integer codec shares: a tag byte (the codec's predictor; its high bit set when
/// the values are range-coded), the exceptions, then the zig-zag values Rice-coded (`RiceCodec`)
/// or range-coded (`RangeCoder`), whichever is smaller; under the fast profile table-coded
/// (`TableCoder`). It runs to the end of the payload.
package enum EntropyStream {
    /// In the tag byte: the values are range-coded, not Rice-coded.
    static let rangeCoded: UInt8 = 0x80
    /// With `rangeCoded`: in the tree layout (`TreeModel`), as every new stream is;
    /// without it the bitwise layout of the streams written before.
    static let trees: UInt8 = 0x40

    /// With `rangeCoded | trees`: a byte `shift` follows the tag and the widths are coded under the
    /// level of the integer before (`RangeCoder.Levels`, the predictor being the tag).
    static let leveled: UInt8 = 0x20

    /// With `rangeCoded | trees`: widths are coded relative to the previous one
    /// (`RangeCoder.Widths.relative`), as every stream without levels is written now.
    static let relativeWidths: UInt8 = 0x10

    /// Without `rangeCoded`: the values are table-coded (`TableCoder`), the fast profile's coding.
    static let tableCoded: UInt8 = 0x40

    /// Writes `tag` (below 0x10), `exceptions` and the smaller coding of `values`. With `levelsOf`
    /// (the integers whose residuals at predictor order `tag` the values are) the range coder's
    /// widths are coded under each integer's level. `widths` overrides the coder's choice of width
    /// coding (see below).
    package static func write(
        _ values: [UInt64], tag: UInt8, exceptions: Exceptions, levelsOf ks: [Int64]? = nil,
        widths chosen: RangeCoder.Widths? = nil, into w: inout ByteWriter
    ) {
        if CodingProfile.current == .fast {
            w.u8(tag | tableCoded)
            exceptions.write(into: &w)
            TableCoder.encode(values, into: &w)
            return
        }
        let shift = ks.map(RangeCoder.Levels.shift(for:)) ?? 0
        // Widths relative to the previous one where no levels are coded: measured on the shared data
        // sets, up to 2 % smaller at a 1 % bound (quantised residuals) and lossless on significant
        // digits (ucr_motestrain −1 %), but 0.3–0.5 % larger beside levels (lossless decimal and
        // dictionary ranks) and on a dictionary's sorted table, where the tree stays.
        let widths = chosen ?? (ks == nil ? .relative : .tree)
        let ranged = RangeCoder.encodeTrees(
            values, levels: ks.map { RangeCoder.Levels.of($0, shift: shift) }, widths: widths)
        // Rice's size is known without writing it; it is written only where it is smaller.
        if ranged.count + (ks == nil ? 0 : 1) >= (RiceCodec.sizeInBits(values) + 7) / 8 {
            var bw = BitWriter(capacity: values.count)
            RiceCodec.encode(values, into: &bw)
            w.u8(tag)
            exceptions.write(into: &w)
            w.append(bw.finish())
            return
        }
        w.u8(tag | rangeCoded | trees | (widths == .relative ? relativeWidths : 0) | (ks == nil ? 0 : leveled))
        if ks != nil { w.u8(UInt8(shift)) }
        exceptions.write(into: &w)
        w.append(ranged)
    }

    /// Reads what `write` wrote for `count` values: the tag without the coder's bits, and `tagOffset`,
    /// where it stood, for the caller's own check of it.
    package static func read(
        _ r: inout ByteReader, count: Int, what: String
    ) throws(DecodeError) -> (tag: UInt8, tagOffset: Int, exceptions: Exceptions, values: [UInt64]) {
        let tagOffset = r.offset
        let flags = try r.u8(what)
        let ranged = flags & rangeCoded != 0
        let tree = ranged && flags & trees != 0
        let tabled = !ranged && flags & tableCoded != 0
        let tag =
            ranged ? flags & ~(rangeCoded | trees | leveled | (tree ? relativeWidths : 0)) : flags & ~tableCoded
        var levels: RangeCoder.Levels? = nil
        if tree && flags & leveled != 0 {
            let shift = Int(try r.u8("level shift"))
            guard shift <= 64, tag <= 2 else {
                throw DecodeError("level shift \(shift) for order \(tag)", offset: r.offset - 1)
            }
            levels = RangeCoder.Levels(order: Int(tag), shift: shift)
        }
        let exceptions = try Exceptions.read(&r, count: count)
        var values = [UInt64]()
        values.reserveCapacity(count)
        if tabled {
            try TableCoder.decode(count: count, from: r.bytes, r.offset, r.end, into: &values)
        } else if tree {
            try RangeCoder.decodeTrees(
                count: count, from: r.bytes, r.offset, r.end, levels: levels,
                widths: flags & relativeWidths != 0 ? .relative : .tree, into: &values)
        } else if ranged {
            try RangeCoder.decode(count: count, from: r.bytes, r.offset, r.end, layout: .bitwise, into: &values)
        } else {
            var br = BitReader(r.bytes, offset: r.offset, count: r.remaining)
            try RiceCodec.decode(count: count, from: &br, into: &values)
        }
        r.offset = r.end
        return (tag, tagOffset, exceptions, values)
    }
}
