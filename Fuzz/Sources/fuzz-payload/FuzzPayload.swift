internal import Agent

/// Three subscriptions as an agent's configuration gives them: a number, JSON fields at nested
/// paths and an array index with a timestamp field (s, ms, µs, ns or RFC 3339), JSON on arrival time.
private let subscriptions: [Subscription] = {
    let toml = """
        [[subscribe]]
        topic = "sensors/+/temperature"
        series = "{1}.temperature"
        format = "number"

        [[subscribe]]
        topic = "plant/+/telemetry"
        format = "json"
        fields = { "{1}.power" = "power", "{1}.volts" = "electrical.voltage", "{1}.first" = "values.0" }
        timestamp = "ts"
        max_payload = 4096

        [[subscribe]]
        topic = "raw/#"
        format = "json"
        fields = { "{topic}.v" = "v", "{2}.w" = "a.b.c.d" }
        """
    do { return try AgentConfig.parse(toml, file: "fuzz.toml").subscriptions } catch { fatalError("\(error)") }
}()

private let topics = ["sensors/kitchen/temperature", "plant/p7/telemetry", "raw/x/y", "raw"]

/// One libFuzzer input: the first byte picks the topic, the rest is the MQTT payload, decoded by
/// the subscription the agent's router gives that topic. A refusal is a pass; a trap is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPayload(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let topic = topics[Int(data[0]) % topics.count]
    let payload = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let route = Route(topic: topic, subscriptions: subscriptions)
    guard let i = route.subscription else { return 0 }
    let s = subscriptions[i]
    switch s.format {
    case .number:
        if let v = try? PayloadDecoder.number(payload, subscription: s), v.isNaN { fatalError("NaN accepted") }
    case .json:
        let points = try? PayloadDecoder.json(
            payload, topic: topic, subscription: s, series: route.series, arrivalMillis: 1_700_000_000_000)
        for p in points ?? [] where p.field >= s.fields.count { fatalError("field index \(p.field) out of range") }
    }
    return 0
}
