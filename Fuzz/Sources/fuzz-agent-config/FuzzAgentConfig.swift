internal import Agent

/// One libFuzzer input: an agent configuration file (`alicedb-agent --config`), parsed as the agent
/// parses it at start and on reload, summarised as `--check` prints it, then its subscriptions
/// routing a few topics. A `ConfigError` is a pass; a trap, a hang or an unbounded allocation is
/// a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAgentConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let config = try? AgentConfig.parse(text, file: "fuzz.toml") else { return 0 }
    _ = config.summary
    for topic in ["sensors/kitchen/temperature", "a/b/c/d", "", "/", "plant/p7/telemetry"] {
        _ = Route(topic: topic, subscriptions: config.subscriptions)
    }
    return 0
}
