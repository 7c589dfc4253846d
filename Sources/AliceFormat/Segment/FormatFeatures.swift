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
        var s: Set<String> = [
            "segment-v\(SegmentFormat.version)", "segment-v\(SegmentFormat.fastVersion)", "float32:ordered",
            smoothOrders,
        ]
        for k in ModelKind.allCases { s.insert(model(k.rawValue)) }
        for m in TimestampCodec.Mode.allCases { s.insert(timestamps(m.rawValue)) }
        return s
    }()

    /// What a segment's features are named from, read from its header: cheap to collect for every
    /// segment of a batch and to name once.
    public struct Key: Hashable, Sendable {
        var version: UInt8
        var kind: UInt8
        var timestamps: UInt8?
        /// Snapped timestamps' own coding (the mode inside mode `snapped`).
        var snappedInner: UInt8? = nil
        var float32Inner: UInt8?
        /// The ordinal codec's predictor order (above 2 from 0.4: `smoothOrders`).
        var ordinalOrder: UInt8? = nil
    }

    /// The ordinal codec's predictor orders 3 to 6 (`Predictor.smoothOrder`), read from ALICE-DB 0.4 on.
    static let smoothOrders = "ordinal:smooth"

    /// The key of a segment's features; nil for bytes that are not a segment this build can parse
    /// (the reader's own checks refuse those).
    public static func key(of raw: UnsafeRawBufferPointer) -> Key? {
        guard let (h, tsRange, valueRange) = try? SegmentFormat.header(raw) else { return nil }
        let float32 = h.kind == .float32 && !valueRange.isEmpty
        return Key(
            version: SegmentFormat.version(of: h.profile), kind: h.kind.rawValue,
            timestamps: tsRange.isEmpty ? nil : raw[tsRange.lowerBound],
            snappedInner: TimestampCodec.innerMode(raw, tsRange),
            float32Inner: float32 ? raw[valueRange.lowerBound] : nil,
            ordinalOrder: h.kind == .ordinal && !valueRange.isEmpty ? raw[valueRange.lowerBound] & 0x0F : nil)
    }

    /// The features named by `keys`, sorted (none for no keys).
    public static func names(_ keys: some Sequence<Key>) -> [String] {
        var s = Set<String>()
        for k in keys {
            s.insert("segment-v\(k.version)")
            s.insert(model(k.kind))
            if let t = k.timestamps { s.insert(timestamps(t)) }
            if let t = k.snappedInner { s.insert(timestamps(t)) }
            if let o = k.ordinalOrder, o > 2 { s.insert(smoothOrders) }
            if let inner = k.float32Inner {
                s.insert(inner == Float32Codec.orderedBits ? "float32:ordered" : model(inner))
            }
        }
        return s.sorted()
    }

    /// The features a segment uses; empty for bytes that are not a segment this build can parse.
    public static func of(segment bytes: [UInt8]) -> Set<String> {
        Set(names(bytes.withUnsafeBytes { key(of: $0) }.map { [$0] } ?? []))
    }

    /// The features of several segments, sorted: what a batch names.
    public static func of(segments: some Sequence<[UInt8]>) -> [String] {
        names(segments.compactMap { $0.withUnsafeBytes { key(of: $0) } })
    }

    static func model(_ byte: UInt8) -> String {
        "model:" + (ModelKind(rawValue: byte).map(\.description) ?? "\(byte)")
    }

    static func timestamps(_ byte: UInt8) -> String {
        "timestamps:" + (TimestampCodec.Mode(rawValue: byte).map { "\($0)" } ?? "\(byte)")
    }
}
