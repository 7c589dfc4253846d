internal import Cloud

/// One libFuzzer input: a cloud node configuration file (`alicedb-cloud --config`), parsed as the
/// node parses it at start, then summarised as `--check` prints it. A `ConfigError` is a pass; a
/// trap, a hang or an unbounded allocation is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCloudConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let config = try? CloudConfig.parse(text, file: "fuzz.toml") else { return 0 }
    _ = config.summary
    return 0
}
