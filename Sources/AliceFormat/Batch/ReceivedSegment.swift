/// One segment a receiver got from a gateway, checked: it decodes, and its points agree with its
/// own header and bound. Its bytes are labelled with the receiver's series id (the gateway's id
/// means nothing elsewhere), so the same segment sent twice has the same bytes.
///
/// The cloud node's PostgreSQL store keeps these bytes as they are; the engine's `importSegments`
/// appends them to its segment files.
public struct ReceivedSegment: Sendable {
    public let header: SegmentHeader
    public let bytes: [UInt8]

    /// Checks untrusted bytes and relabels them with `seriesID`.
    /// - Complexity: O(points): the whole segment is decoded once.
    /// - Throws: `AliceDBError` (`.badInput`) whose message says why the segment is refused.
    public init(checking bytes: [UInt8], seriesID: UInt32 = 0) throws(AliceDBError) {
        let parsed = bytes.withUnsafeBytes { raw in
            Result { () throws(DecodeError) in
                let d = try SegmentFormat.decode(raw)
                let (_, ts, values) = try SegmentFormat.header(raw)
                return (d, Array(raw[ts]), Array(raw[values]), SegmentFormat.derivesFromHeader(raw))
            }
        }
        let (d, tsBytes, valueBytes, derived): (DecodedSegment, [UInt8], [UInt8], Bool)
        switch parsed {
        case .success(let p): (d, tsBytes, valueBytes, derived) = p
        case .failure(let e): throw AliceDBError(.badInput, "segment does not decode: \(e)", cause: e)
        }
        if let fault = d.inconsistency { throw AliceDBError(.badInput, "segment disagrees with its header: \(fault)") }
        var h = d.header
        h.seriesID = seriesID
        header = h
        self.bytes =
            h.seriesID == d.header.seriesID
            ? bytes : SegmentFormat.encode(header: h, timestampBytes: tsBytes, valueBytes: valueBytes, derived: derived)
    }

    /// Decodes stored bytes (a receiver's own, checked on arrival).
    /// - Throws: `AliceDBError` (`.corrupt`) when they no longer decode.
    public static func decode(_ bytes: [UInt8]) throws(AliceDBError) -> DecodedSegment {
        do { return try SegmentFormat.decode(bytes) } catch {
            throw AliceDBError(.corrupt, "stored segment does not decode: \(error)", cause: error)
        }
    }
}

extension ReceivedSegment {
    /// Whether `name` may name a series (1–1024 bytes of UTF-8 without control characters), as
    /// every store checks it.
    /// - Throws: `AliceDBError` (`.invalidArgument`) saying what a name must be.
    public static func validate(seriesName name: String) throws(AliceDBError) { try SeriesName.validate(name) }
}
