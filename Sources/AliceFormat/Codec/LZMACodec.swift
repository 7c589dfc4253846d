internal import CLZMA

/// LZMA2 over byte-shuffled raw values: the lossless fallback for data no other codec shrinks.
///
/// The eight bytes of each value are split into eight planes (exponent bytes together), then
/// compressed as a raw LZMA2 stream — no `.xz` container, so no 60-byte header per segment.
/// The dictionary is fixed at 1 MiB so a decoder's memory is bounded whatever the bytes say.
package enum LZMACodec {
    static let dictionarySize: UInt32 = 1 << 20

    private static func withFilters<R>(_ body: (UnsafePointer<lzma_filter>) -> R) -> R {
        var options = lzma_options_lzma()
        _ = lzma_lzma_preset(&options, 6)
        options.dict_size = dictionarySize
        return withUnsafeMutablePointer(to: &options) { opt in
            let filters = [
                lzma_filter(id: 0x21, options: UnsafeMutableRawPointer(opt)),  // LZMA_FILTER_LZMA2
                lzma_filter(id: UInt64.max, options: nil),  // LZMA_VLI_UNKNOWN terminates
            ]
            return filters.withUnsafeBufferPointer { body($0.baseAddress!) }
        }
    }

    package static func encode(_ v: UnsafeBufferPointer<Double>, _ range: Range<Int>) -> [UInt8]? {
        let n = range.count
        var planes = [UInt8](repeating: 0, count: n * 8)
        for (j, i) in range.enumerated() {
            let b = v[i].bitPattern
            for p in 0..<8 { planes[p * n + j] = UInt8(truncatingIfNeeded: b >> UInt64(8 * p)) }
        }
        var out = [UInt8](repeating: 0, count: n * 8 + n / 2 + 256)
        var outPos = 0
        let status = withFilters { filters in
            planes.withUnsafeBufferPointer { input in
                out.withUnsafeMutableBufferPointer { output in
                    lzma_raw_buffer_encode(
                        filters, nil, input.baseAddress, input.count, output.baseAddress, &outPos, output.count)
                }
            }
        }
        guard status == LZMA_OK else { return nil }
        out.removeSubrange(outPos...)
        return out
    }

    package static func decode(_ r: inout ByteReader, count: Int, into out: inout [Double]) throws(DecodeError) {
        var planes = [UInt8](repeating: 0, count: count * 8)
        var inPos = 0
        var outPos = 0
        let start = r.offset
        let length = r.remaining
        let status = withFilters { filters in
            planes.withUnsafeMutableBufferPointer { output in
                lzma_raw_buffer_decode(
                    filters, nil, r.bytes.baseAddress!.advanced(by: start).assumingMemoryBound(to: UInt8.self),
                    &inPos, length, output.baseAddress, &outPos, output.count)
            }
        }
        guard status == LZMA_OK || status == LZMA_STREAM_END, outPos == count * 8 else {
            throw DecodeError("LZMA stream corrupt (status \(status.rawValue))", offset: start + inPos)
        }
        for j in 0..<count {
            var b: UInt64 = 0
            for p in 0..<8 { b |= UInt64(planes[p * count + j]) << UInt64(8 * p) }
            out.append(Double(bitPattern: b))
        }
        r.offset = r.end
    }
}
