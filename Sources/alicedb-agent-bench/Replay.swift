import AgentHarness
import ArgumentParser
import Foundation

/// Publishes a data set's values to a broker on this machine and waits until the broker has
/// acknowledged every one (`mosquitto_pub -l` 2.0.11 disconnects at the end of its input with
/// QoS 1 messages still unacknowledged, and the broker drops them: 34 471 of 100 000 arrived).
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Publish the value column of a CSV (ts,value) to a topic on 127.0.0.1, one message per value.")

    @Argument(help: "The CSV file.")
    var file: String
    @Option(help: "The broker's port on 127.0.0.1.")
    var port: Int = 1883
    @Option(help: "The topic.")
    var topic: String
    @Option(help: "0 or 1.")
    var qos: Int = 1
    @Option(help: "At most this many values (default: all).")
    var count: Int?

    func run() throws {
        guard qos == 0 || qos == 1 else { throw ValidationError("--qos must be 0 or 1") }
        var values = try loadValues(file)
        if let count { values = Array(values.prefix(max(0, count))) }
        let start = Date()
        let publisher = try LoadPublisher(port: port)
        for v in values { try publisher.publish(topic, v, qos: qos) }
        try publisher.drain()
        let seconds = Date().timeIntervalSince(start)
        print(
            "published \(values.count) messages to \(topic) at QoS \(qos) in \(String(format: "%.2f", seconds)) s\(qos == 1 ? ", every one acknowledged" : "")"
        )
    }
}
