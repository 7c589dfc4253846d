/// What a codec is handed besides its values.
package struct CodecContext {
    package var bound: ErrorBound
    /// `DecimalCodec.decimals(v, range)`, when the caller found them already.
    package var decimals: [UInt8]?
    /// The smallest lossless coding of other values among some codecs, for a codec that codes a
    /// transform of its input (the float32 codec its views): the codec's kind byte and payload.
    package var innerLossless: (UnsafeBufferPointer<Double>, Range<Int>) -> (code: UInt8, payload: [UInt8])?

    package init(
        bound: ErrorBound, decimals: [UInt8]? = nil,
        innerLossless: @escaping (UnsafeBufferPointer<Double>, Range<Int>) -> (code: UInt8, payload: [UInt8])? = {
            _, _ in nil
        }
    ) {
        self.bound = bound
        self.decimals = decimals
        self.innerLossless = innerLossless
    }
}

/// A sample of a range (every k-th point), with its decimals found once, on which a codec's gate
/// decides whether the codec is worth encoding the whole range with.
package struct CodecSample {
    package var values: UnsafeBufferPointer<Double>
    package var decimals: [UInt8]
    package var bound: ErrorBound
}

/// One codec of value payloads: its kind, which bounds it serves, how it encodes and decodes,
/// and when it is worth trying.
package struct ValueCodec: Sendable {
    package enum Role: Sendable { case lossless, lossy, both, fallback }

    package let kind: ModelKind
    package let role: Role
    /// Encodes `v[range]`; nil where the codec does not apply.
    package let encode: @Sendable (UnsafeBufferPointer<Double>, Range<Int>, CodecContext) -> [UInt8]?
    /// Decodes `count` values; the bound is the segment's where the payload leaves its grid step to it.
    package let decode: @Sendable (inout ByteReader, Int, ErrorBound?, inout [Double]) throws(DecodeError) -> Void
    /// Whether the codec is worth trying on a range, judged on a sample of it; nil: always.
    package let gate: (@Sendable (CodecSample) -> Bool)?
}

/// Every codec by its model kind: the competition encodes and the segment decoder decodes through
/// it. Adding a codec is its file, its `ModelKind` and one entry here.
package enum CodecRegistry {
    /// In the order the competition tries them (ties go to the earlier).
    package static let codecs: [ValueCodec] = [
        ValueCodec(
            kind: .decimal, role: .both,
            encode: { v, r, c in DecimalCodec.encode(v, r, decimals: c.decimals) },
            decode: { r, n, _, out throws(DecodeError) in try DecimalCodec.decode(&r, count: n, into: &out) }, gate: nil
        ),
        ValueCodec(
            kind: .significant, role: .lossless,
            encode: { v, r, c in SignificantCodec.encode(v, r, decimals: c.decimals) },
            decode: { r, n, _, out throws(DecodeError) in try SignificantCodec.decode(&r, count: n, into: &out) },
            gate: nil),
        ValueCodec(
            kind: .quantized, role: .lossy, encode: { v, r, c in QuantizedCodec.encode(v, r, bound: c.bound) },
            decode: { r, n, bound, out throws(DecodeError) in
                try QuantizedCodec.decode(&r, count: n, stepFrom: bound, into: &out)
            },
            gate: nil),
        ValueCodec(
            kind: .interpolated, role: .lossy,
            encode: { v, r, c in InterpolationCodec.encode(v, r, bound: c.bound) },
            decode: { r, n, bound, out throws(DecodeError) in
                try InterpolationCodec.decode(&r, count: n, stepFrom: bound, into: &out)
            },
            gate: nil),
        ValueCodec(
            kind: .xor, role: .lossless, encode: { v, r, _ in XORCodec.encode(v, r) },
            decode: { r, n, _, out throws(DecodeError) in try XORCodec.decode(&r, count: n, into: &out) }, gate: nil),
        ValueCodec(
            kind: .dictionary, role: .lossless, encode: { v, r, _ in DictionaryCodec.encode(v, r) },
            decode: { r, n, _, out throws(DecodeError) in try DictionaryCodec.decode(&r, count: n, into: &out) },
            gate: nil),
        ValueCodec(
            kind: .float32, role: .lossless, encode: { v, r, c in Float32Codec.encode(v, r, views: c.innerLossless) },
            decode: { r, n, _, out throws(DecodeError) in
                try Float32Codec.decode(&r, count: n, into: &out, views: decodeViews)
            },
            gate: { s in Float32Codec.applies(s.values, 0..<s.values.count, decimals: s.decimals) }),
        ValueCodec(
            kind: .ordinal, role: .lossless, encode: { v, r, _ in OrdinalCodec.encode(v, r) },
            decode: { r, n, _, out throws(DecodeError) in try OrdinalCodec.decode(&r, count: n, into: &out) },
            gate: { s in s.decimals.filter { $0 > 9 }.count * 4 >= s.values.count }),
        ValueCodec(
            kind: .lattice, role: .lossy, encode: { v, r, c in LatticeCodec.encode(v, r, bound: c.bound) },
            decode: { r, n, _, out throws(DecodeError) in try LatticeCodec.decode(&r, count: n, into: &out) },
            gate: { s in
                let readings = Float32Codec.readingDecimals(s.values, 0..<s.values.count, decimals: s.decimals)
                return LatticeCodec.lattice(s.values, 0..<s.values.count, bound: s.bound, decimals: readings) != nil
            }),
        ValueCodec(
            kind: .lzma, role: .fallback, encode: { v, r, _ in LZMACodec.encode(v, r) },
            decode: { r, n, _, out throws(DecodeError) in try LZMACodec.decode(&r, count: n, into: &out) }, gate: nil),
        ValueCodec(
            kind: .raw, role: .fallback, encode: { v, r, _ in RawCodec.encode(v, r) },
            decode: { r, n, _, out throws(DecodeError) in try RawCodec.decode(&r, count: n, into: &out) }, gate: nil),
    ]

    private static let byKind: [ModelKind: ValueCodec] = Dictionary(uniqueKeysWithValues: codecs.map { ($0.kind, $0) })

    package static func codec(_ kind: ModelKind) -> ValueCodec? { byKind[kind] }

    /// The codecs the competition tries under a bound, in order (fallbacks are tried apart).
    package static func candidates(lossless: Bool) -> [ModelKind] {
        codecs.filter { $0.role == .both || $0.role == (lossless ? .lossless : .lossy) }.map(\.kind)
    }

    /// The codecs the float32 codec may code its views with.
    package static let viewKinds: Set<ModelKind> = [.decimal, .significant, .dictionary, .xor]

    /// Decodes a value payload of `kind`; function models and unknown kinds are errors.
    package static func decode(
        _ kind: ModelKind, _ r: inout ByteReader, count: Int, stepFrom bound: ErrorBound? = nil,
        into values: inout [Double]
    ) throws(DecodeError) {
        guard let c = byKind[kind] else { throw DecodeError("\(kind) is not a codec of its own", offset: r.offset) }
        try c.decode(&r, count, bound, &values)
    }

    /// The float32 codec's views, coded by one of `viewKinds`.
    @Sendable static func decodeViews(_ code: UInt8, _ r: inout ByteReader, _ count: Int, _ out: inout [Double])
        throws(DecodeError)
    {
        guard let kind = ModelKind(rawValue: code), viewKinds.contains(kind) else {
            throw DecodeError("float32 views in coding \(code)", offset: r.offset)
        }
        try decode(kind, &r, count: count, into: &out)
    }
}
