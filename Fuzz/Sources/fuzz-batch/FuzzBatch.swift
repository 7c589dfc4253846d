internal import AliceFormat

/// One libFuzzer input: arbitrary bytes as an uplink batch, taken as the cloud node takes a POST
/// body: the batch decoded, then each entry's name validated and its segment checked and relabelled
/// (`ReceivedSegment`). The batch CRC is made right first so that mutations reach the entries; each
/// segment keeps the CRC it came with, as on the wire (the segment target fuzzes behind that CRC).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBatch(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if bytes.count >= 8 {
        let crc = CRC32C.checksum(bytes, to: bytes.count - 4)
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange((bytes.count - 4)..., with: $0) }
    }
    guard let batch = try? SegmentBatch.decode(bytes) else { return 0 }
    for (i, entry) in batch.entries.enumerated() {
        guard (try? ReceivedSegment.validate(seriesName: entry.series)) != nil else { continue }
        guard let received = try? ReceivedSegment(checking: entry.segment, seriesID: UInt32(i + 1)) else { continue }
        // What the node stores must decode again (its queries read these bytes back).
        guard (try? ReceivedSegment.decode(received.bytes)) != nil else {
            fatalError("a checked segment does not decode after relabelling")
        }
    }
    // The entries must survive their own encoding (the node's outbox re-sends batches it builds).
    guard (try? SegmentBatch.decode(batch.encode())) == batch else { fatalError("batch does not round-trip") }
    return 0
}
