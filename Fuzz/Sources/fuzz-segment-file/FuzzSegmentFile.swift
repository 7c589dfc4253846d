internal import FuzzStore

/// One libFuzzer input: the first byte says whether to make the checksums right (bit 0; then
/// mutations reach the frames and segments behind them), the rest is a segment file. It is written
/// as `segments/0000000000000001.seg` of a database whose catalog holds three series, then opened
/// read-only and read, opened for writing (which repairs a torn tail) and read, verified, compacted
/// and closed, as a gateway restarting on a damaged disk would. A refusal is a pass; a trap, a hang
/// or an unbounded allocation is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSegmentFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    var file = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if data[0] & 1 == 1 { Checksums.fixSegmentFile(&file) }
    let dir = Scratch.directory(["segments/0000000000000001.seg": file])
    defer { Scratch.remove(dir) }
    Scratch.exercise(dir)
    return 0
}
