/// What a reader must understand to read a segment, by name: the segment format's version, the
/// model kind, the timestamp mode and a codec's inner coding. A gateway names the features of a
/// batch's segments when it uploads (`X-AliceDB-Features`), so that a node that cannot read one
/// refuses the batch as a whole — and it is sent again once the node is upgraded — instead of
/// refusing its segments one by one for good.
///
/// A new coding a reader must know to decode (a model kind, a timestamp mode, an entropy layout)
/// gets a new name here; names are never reused.
public enum FormatFeatures {
    /// Every feature this build reads.
    public static let readable: Set<String> = {
        var s: Set<String> = ["segment-v\(SegmentFormat.version)", "float32:ordered"]
        for k in ModelKind.allCases { s.insert(model(k.rawValue)) }
        for m in TimestampCodec.Mode.allCases { s.insert(timestamps(m.rawValue)) }
        return s
    }()

    /// The features a segment uses; empty for bytes that are not a segment this build can parse
    /// (the reader's own checks refuse those).
    public static func of(segment bytes: [UInt8]) -> Set<String> {
        bytes.withUnsafeBytes { raw in
            guard let (h, tsRange, valueRange) = try? SegmentFormat.header(raw) else { return [] }
            var s: Set<String> = ["segment-v\(SegmentFormat.version)", model(h.kind.rawValue)]
            if !tsRange.isEmpty { s.insert(timestamps(raw[tsRange.lowerBound])) }
            if h.kind == .float32 && !valueRange.isEmpty {
                let inner = raw[valueRange.lowerBound]
                s.insert(inner == Float32Codec.orderedBits ? "float32:ordered" : model(inner))
            }
            return s
        }
    }

    /// The features of several segments, sorted: what a batch names.
    public static func of(segments: some Sequence<[UInt8]>) -> [String] {
        var all = Set<String>()
        for s in segments { all.formUnion(of(segment: s)) }
        return all.sorted()
    }

    static func model(_ byte: UInt8) -> String {
        "model:" + (ModelKind(rawValue: byte).map(\.description) ?? "\(byte)")
    }

    static func timestamps(_ byte: UInt8) -> String {
        "timestamps:" + (TimestampCodec.Mode(rawValue: byte).map { "\($0)" } ?? "\(byte)")
    }
}
