/// Model 15 `parts`: consecutive segments of one series under one header, each part keeping the
/// value payload (and model) it was verified with, the timestamps coded once for all of them.
/// Housekeeping merges a series' short segments so (`SegmentMerge`): a segment costs ~90 bytes
/// beside its payload (header, frame, index entry), which a gateway's segments of a few hundred
/// points pay many times over.
///
/// Payload: a varint part count; per part its model byte (a kind other than `parts`, with
/// `SegmentFormat.derivedFromHeader` where the part's grid step comes from the header's bound),
/// a varint point count and a varint payload length; then the parts' payloads back to back. A
/// function model is evaluated from its part's first timestamp, as it was in its own segment.
package enum SegmentParts {
    package struct Part: Sendable {
        /// The part's kind, with `SegmentFormat.derivedFromHeader` where it left its step out.
        package var modelByte: UInt8
        package var count: Int
        package var payload: [UInt8]

        package init(modelByte: UInt8, count: Int, payload: [UInt8]) {
            self.modelByte = modelByte
            self.count = count
            self.payload = payload
        }
    }

    package static func encode(_ parts: [Part]) -> [UInt8] {
        var w = ByteWriter(capacity: 8 + parts.reduce(0) { $0 + 8 + $1.payload.count })
        w.varint(UInt64(parts.count))
        for p in parts {
            w.u8(p.modelByte)
            w.varint(UInt64(p.count))
            w.varint(UInt64(p.payload.count))
        }
        for p in parts { w.append(p.payload) }
        return w.bytes
    }

    /// The parts' descriptions and where each payload is, checked against the header: counts that
    /// add up to the segment's, lengths that add up to the payload, kinds this build reads.
    static func read(
        _ raw: UnsafeRawBufferPointer, _ valueRange: Range<Int>, header h: SegmentHeader
    ) throws(DecodeError) -> [(kind: ModelKind, derived: Bool, count: Int, payload: Range<Int>)] {
        var r = ByteReader(raw, from: valueRange.lowerBound, to: valueRange.upperBound)
        let n = try r.count("part count", limit: h.count)
        guard n > 0 else { throw DecodeError("a segment of no parts", offset: valueRange.lowerBound) }
        var parts = [(kind: ModelKind, derived: Bool, count: Int, payload: Range<Int>)]()
        parts.reserveCapacity(n)
        var points = 0
        var bytes = 0
        for _ in 0..<n {
            let at = r.offset
            let byte = try r.u8("part model")
            let derived = byte & SegmentFormat.derivedFromHeader != 0
            guard let kind = ModelKind(rawValue: byte & ~SegmentFormat.derivedFromHeader), kind != .parts else {
                throw DecodeError("unknown model kind \(byte & ~SegmentFormat.derivedFromHeader) in a part", offset: at)
            }
            guard !derived || (kind.codesOnBoundGrid && QuantizedCodec.stepFromBound(h.bound)) else {
                throw DecodeError("part model \(kind) cannot derive its payload from the header", offset: at)
            }
            let count = try r.count("part points", limit: h.count - points)
            guard count > 0 else { throw DecodeError("empty part", offset: r.offset) }
            let length = try r.count("part length", limit: r.remaining)
            parts.append((kind, derived, count, bytes..<(bytes + length)))
            points += count
            bytes += length
        }
        guard points == h.count else {
            throw DecodeError("parts hold \(points) points, the segment \(h.count)", offset: valueRange.lowerBound)
        }
        guard bytes == r.remaining else {
            throw DecodeError("parts' payloads are \(bytes) bytes, \(r.remaining) follow", offset: r.offset)
        }
        let base = r.offset
        return parts.map {
            ($0.kind, $0.derived, $0.count, (base + $0.payload.lowerBound)..<(base + $0.payload.upperBound))
        }
    }

    /// Decodes every part's values after the segment's timestamps `ts` (one per point).
    static func decode(
        _ raw: UnsafeRawBufferPointer, _ valueRange: Range<Int>, header h: SegmentHeader, timestamps ts: [Int64],
        into values: inout [Double]
    ) throws(DecodeError) {
        var start = 0
        for part in try read(raw, valueRange, header: h) {
            var r = ByteReader(raw, from: part.payload.lowerBound, to: part.payload.upperBound)
            let before = values.count
            switch part.kind {
            case .constant, .linear, .polynomial, .sinusoid:
                let model = try FunctionModel.read(part.kind, &r)
                let origin = ts[start]
                for t in ts[start..<(start + part.count)] { values.append(model.evaluate(t &- origin)) }
            default:
                try CodecRegistry.decode(
                    part.kind, &r, count: part.count, stepFrom: part.derived ? h.bound : nil, into: &values)
            }
            guard values.count == before + part.count else {
                throw DecodeError("part value count disagrees", offset: part.payload.lowerBound)
            }
            start += part.count
        }
    }
}
