/// Lossless coding of doubles that use every digit (computed values, z-normalised signals written
/// with 17 significant digits): the bit patterns as ordered integers — the order of the values, so
/// neighbours that are close in value are close as integers — predicted from their predecessors
/// (`Predictor`, order 0 to 6: the sixth differences of a noiseless sine are small) and entropy-coded. Where XOR sees a changed mantissa as a new
/// window of bits, this codes the difference: 100 000 noisy readings in full precision (σ = 0.05 on
/// a slow sine) 5.79 bytes a point, LZMA 5.91, pcodec 5.78.
package enum OrdinalCodec {
    /// The ordered integer of a double's bits: −0.0 is −1, +0.0 is 0, and order follows the values
    /// (NaNs beyond the infinities, by payload).
    @inline(__always)
    static func ordinal(_ x: Double) -> Int64 {
        let b = Int64(bitPattern: x.bitPattern)
        return b >= 0 ? b : -(b & Int64.max) - 1
    }

    @inline(__always)
    static func double(ordinal o: Int64) -> Double {
        Double(bitPattern: o >= 0 ? UInt64(o) : UInt64(-(o + 1)) | (1 << 63))
    }

    package static func encode(_ v: UnsafeBufferPointer<Double>, _ range: Range<Int>) -> [UInt8]? {
        guard !range.isEmpty else { return nil }
        var w = ByteWriter(capacity: range.count * 4)
        Predictor.writeStream(
            range.map { ordinal(v[$0]) }, exceptions: Exceptions(), maxOrder: Predictor.smoothOrder, into: &w)
        return w.bytes
    }

    package static func decode(_ r: inout ByteReader, count: Int, into out: inout [Double]) throws(DecodeError) {
        let (ks, exceptions) = try Predictor.readStream(&r, count: count, maxOrder: Predictor.smoothOrder)
        let base = out.count
        for k in ks { out.append(double(ordinal: k)) }
        exceptions.apply(to: &out, base: base)
    }
}
