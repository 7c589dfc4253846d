import AliceDB
import Foundation
import Testing

@testable import Agent

/// Inputs the fuzzers found (Fuzz/crashes/payload), fed as the agent gets them: refused or decoded, never a trap.
@Suite struct PayloadDecoderTests {
    static let subscription: Subscription = {
        let toml = """
            [[subscribe]]
            topic = "plant/+/telemetry"
            format = "json"
            fields = { "{1}.power" = "power" }
            timestamp = "ts"
            """
        return try! AgentConfig.parse(toml, file: "fuzz.toml").subscriptions[0]
    }()

    /// More than 3 fraction digits (µs, ns) made `digits..<3` an inverted range: a trap in the agent.
    @Test func rfc3339WithMicrosecondsAndNanoseconds() throws {
        #expect(RFC3339.millis("2023-11-14T22:13:20.123456+02:00") == 1_699_992_800_123)
        #expect(RFC3339.millis("2023-11-14T22:13:20.123456789Z") == 1_700_000_000_123)
        #expect(RFC3339.millis("2023-11-14T22:13:20.1234Z") == 1_700_000_000_123)
        #expect(RFC3339.millis("2023-11-14T22:13:20.12Z") == 1_700_000_000_120)
    }

    @Test func pastFuzzCrashesDecodeOrAreRefused() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fuzz/crashes/payload").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("crash-") }
        #expect(!files.isEmpty)
        for name in files {
            // The first byte picks the fuzz target's topic; the rest is the payload.
            let payload = Array(try Data(contentsOf: dir.appendingPathComponent(name)).dropFirst())
            let s = Self.subscription
            let route = Route(topic: "plant/p7/telemetry", subscriptions: [s])
            _ = try? PayloadDecoder.json(
                payload, topic: "plant/p7/telemetry", subscription: s, series: route.series, arrivalMillis: 0)
        }
        for ts in ["1e30", "\"9300000000000000000000000\"", "1.7976931348623157e308"] {
            #expect(throws: PayloadError.self) {
                try PayloadDecoder.json(
                    Array(#"{"ts": \#(ts), "power": 1}"#.utf8), topic: "plant/p7/telemetry",
                    subscription: Self.subscription, series: ["p7.power"], arrivalMillis: 0)
            }
        }
        let points = try PayloadDecoder.json(
            Array(#"{"ts": "2023-11-14T22:13:20.123456+02:00", "power": 2}"#.utf8), topic: "plant/p7/telemetry",
            subscription: Self.subscription, series: ["p7.power"], arrivalMillis: 0)
        #expect(points.count == 1 && points[0].ts == 1_699_992_800_123 && points[0].value == 2)
    }
}
