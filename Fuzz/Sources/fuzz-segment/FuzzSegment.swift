internal import AliceFormat

/// One libFuzzer input: arbitrary bytes as a segment, its CRC made right first so that mutations
/// reach the header and the codecs behind it (a wrong CRC is refused on the first check). What
/// decodes is also checked against its header and recompressed from the fast profile to compact,
/// as compaction does. Any outcome but a trap, an overflow or a hang is a pass.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSegment(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if bytes.count >= 8 {
        let crc = CRC32C.checksum(bytes, to: bytes.count - 4)
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange((bytes.count - 4)..., with: $0) }
    }
    guard let segment = try? SegmentFormat.decode(bytes) else { return 0 }
    _ = segment.inconsistency
    _ = try? ReceivedSegment(checking: bytes, seriesID: 7)
    if case .recoded(let compact)? = try? Recompression.compact(bytes) {
        // Compaction promises the same points, bit for bit.
        guard let again = try? SegmentFormat.decode(compact), again.timestamps == segment.timestamps,
            again.values.elementsEqual(segment.values, by: { $0.bitPattern == $1.bitPattern })
        else { fatalError("recompressed segment does not decode to the same points") }
    }
    return 0
}
