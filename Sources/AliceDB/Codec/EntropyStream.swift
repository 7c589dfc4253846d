/// The tail every integer codec shares: a tag byte (the codec's predictor; its high bit set when
/// the values are range-coded), the exceptions, then the zig-zag values Rice-coded (`RiceCodec`)
/// or range-coded (`RangeCoder`), whichever is smaller. It runs to the end of the payload.
package enum EntropyStream {
    /// In the tag byte: the values are range-coded, not Rice-coded.
    static let rangeCoded: UInt8 = 0x80
    /// With `rangeCoded`: in the tree layout (`RangeCoder+Trees.swift`), as every new stream is;
    /// without it the bitwise layout of the streams written before.
    static let trees: UInt8 = 0x40

    /// Writes `tag` (below 0x40), `exceptions` and the smaller coding of `values`.
    package static func write(_ values: [UInt64], tag: UInt8, exceptions: Exceptions, into w: inout ByteWriter) {
        var bw = BitWriter(capacity: values.count)
        RiceCodec.encode(values, into: &bw)
        let rice = bw.finish()
        let ranged = RangeCoder.encode(values, layout: .trees)
        let useRange = ranged.count < rice.count
        w.u8(tag | (useRange ? rangeCoded | trees : 0))
        exceptions.write(into: &w)
        w.append(useRange ? ranged : rice)
    }

    /// Reads what `write` wrote for `count` values: the tag without the coder bit, and `tagOffset`,
    /// where it stood, for the caller's own check of it.
    package static func read(
        _ r: inout ByteReader, count: Int, what: String
    ) throws(DecodeError) -> (tag: UInt8, tagOffset: Int, exceptions: Exceptions, values: [UInt64]) {
        let tagOffset = r.offset
        let flags = try r.u8(what)
        let exceptions = try Exceptions.read(&r, count: count)
        var values = [UInt64]()
        values.reserveCapacity(count)
        if flags & rangeCoded != 0 {
            try RangeCoder.decode(count: count, from: r.bytes, r.offset, r.end, layout: flags & trees != 0 ? .trees : .bitwise, into: &values)
        } else {
            var br = BitReader(r.bytes, offset: r.offset, count: r.remaining)
            try RiceCodec.decode(count: count, from: &br, into: &values)
        }
        r.offset = r.end
        return (flags & rangeCoded != 0 ? flags & ~(rangeCoded | trees) : flags, tagOffset, exceptions, values)
    }
}
