internal import FuzzStore

/// One libFuzzer input: the first byte says whether to make the record checksums right (bit 0),
/// the rest is a WAL file. It is written as `wal/0000000000000001.log` of a database whose catalog
/// holds three series, then opened read-only (replay without repair) and read, opened for writing
/// (replay, truncation of a torn tail, flush of what replayed) and read, verified, compacted and
/// closed. A refusal is a pass; a trap, a hang or an unbounded allocation is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWAL(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    var file = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if data[0] & 1 == 1 { Checksums.fixWAL(&file) }
    let dir = Scratch.directory(["wal/0000000000000001.log": file])
    defer { Scratch.remove(dir) }
    Scratch.exercise(dir)
    return 0
}
