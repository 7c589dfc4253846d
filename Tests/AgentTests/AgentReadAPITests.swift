import AgentHarness
import AliceDB
import Foundation
import Logging
import TestKit
import Testing

@testable import Agent

/// `[http] query = true`: the cloud node's read API on the agent's listener, from its engine.
@Suite struct AgentQueryAPITests {
    @Test func theReadAPIAnswersFromTheEngineToTheReaderToken() async throws {
        let broker = try Broker()
        let token = "agent-reader-0123456789"
        var cfg = try config(broker, broker.dir.appendingPathComponent("data").path)
        cfg.http = ("127.0.0.1", 0)
        var q = QueryOptions(readerToken: token, gateway: "gw-9")
        q.maxScanPoints = 50
        cfg.query = q
        let agent = try Agent(config: cfg, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let run = Task { try await agent.run() }
        try await waitUntil(timeout: .seconds(60), "the HTTP listener bound and the broker connected") {
            let bound = await agent.httpPort != nil
            let connected = await agent.counters.connected
            return bound && connected
        }
        let port = try #require(await agent.httpPort)
        let t0: Int64 = 1_700_000_000_000
        try broker.publish(
            "plant/p7/telemetry",
            (0..<120).map { #"{"ts": \#(t0 + Int64($0) * 1000), "power": \#($0), "electrical": {"voltage": 230.5}}"# })
        try await waitUntil(timeout: .seconds(60), "240 points at the agent") { await agent.counters.points >= 240 }
        let get = { (path: String, token: String?) in try await answer(port: port, "GET", path, token: token) }

        // In its MemTable still, in pages of max_scan_points (plus the points sharing the last timestamp).
        let page = try await get("/v1/scan?series=p7.power&format=csv", token)
        #expect(page.status == 200 && page.body.split(separator: "\n").count == 51)
        #expect(page.body.hasPrefix("ts,value\n\(t0),0.0\n\(t0 + 1000),1.0\n"))
        let all = try await get("/v1/aggregate?series=p7.power", token)
        #expect(
            all.status == 200
                && all.body == "{\"count\": 120, \"sum\": 7140.0, \"avg\": 59.5, \"min\": 0.0, \"max\": 119.0}\n")
        let same = try await get("/v1/aggregate?series=p7.power&gateway=gw-9", token)
        #expect(same.body == all.body)
        let other = try await get("/v1/aggregate?series=p7.power&gateway=gw-1", token)
        #expect(other.status == 404 && other.body.contains("no data from gateway 'gw-1'"))
        let json = try await get("/v1/scan?series=p7.power&limit=1000&from=\(t0 + 100_000)", token)
        #expect(json.body.hasPrefix("{\"series\": \"p7.power\", \"points\": [[\(t0 + 100_000), 100.0], "))
        #expect(json.body.hasSuffix("[\(t0 + 119_000), 119.0]], \"next\": null}\n"))
        #expect(
            try await get("/v1/gateways", token).body.hasPrefix("{\"gateways\": [{\"name\": \"gw-9\", \"series\": 2, "))

        // Refusals in the node's shape; /healthz and /metrics need no token.
        let none = try await get("/v1/series", nil)
        #expect(none.status == 401 && none.body.contains("\"code\": \"missing_token\""))
        let wrong = try await get("/v1/series", "not-the-token")
        #expect(wrong.status == 401 && wrong.body.contains("\"code\": \"unknown_token\""))
        #expect(try await get("/metrics", nil).status == 200)
        let bad = try await get("/v1/downsample?series=p7.power&interval=0", token)
        #expect(bad.status == 400 && bad.body.contains("interval must be a positive integer"))

        // Grafana's Prometheus data source: GET and a POST form, labels with the agent as its gateway.
        let labels = try await get("/api/v1/label/gateway/values", token)
        #expect(labels.body == "{\"status\": \"success\", \"data\": [\"gw-9\"]}\n")
        let form = Array("query=count_over_time(alicedb%7Bseries%3D%22p7.power%22%7D%5B1h%5D)&time=1700000200".utf8)
        let post = try await answer(
            port: port, "POST", "/api/v1/query", token: token, body: form,
            headers: ["Content-Type: application/x-www-form-urlencoded"])
        #expect(
            post.status == 200 && post.body.contains("\"gateway\": \"gw-9\"") && post.body.contains("\"120\""),
            "\(post)")
        // Form bodies up to 1 MiB, as on the cloud node (FormBody); one byte more is refused with 413.
        let padded = { (size: Int) in
            form + Array("&pad=".utf8) + [UInt8](repeating: 0x78, count: size - form.count - 5)
        }
        let mib = try await answer(
            port: port, "POST", "/api/v1/query", token: token, body: padded(1 << 20),
            headers: ["Content-Type: application/x-www-form-urlencoded"])
        #expect(mib.status == 200 && mib.body.contains("\"120\""), "\(mib.status) \(mib.body.prefix(300))")
        let over = try await answer(
            port: port, "POST", "/api/v1/query_range", token: token, body: padded((1 << 20) + 1),
            headers: ["Content-Type: application/x-www-form-urlencoded"])
        #expect(
            over.status == 413 && over.body.contains("\"errorType\": \"bad_data\"")
                && over.body.contains("request body: larger than 1048576 bytes (1 MiB)"), "\(over)")
        // Sent in chunks, the body's length shows only as it is read: the same refusal.
        let chunked = try await chunkedPost(port, "/api/v1/query_range", token, padded((1 << 20) + 1))
        #expect(chunked.status == 413 && chunked.body == over.body, "\(chunked.status) \(chunked.body.prefix(300))")
        let small = try await chunkedPost(port, "/api/v1/query", token, padded(4096))
        #expect(small.status == 200, "\(small.status) \(small.body.prefix(300))")
        let refused = try await get("/api/v1/query?query=rate(", nil)
        #expect(refused.status == 401 && refused.body.contains("\"errorType\": \"unauthorized\""))
        let parse = try await get("/api/v1/query?query=rate(", token)
        #expect(parse.status == 400 && parse.body.contains("\"errorType\": \"bad_data\""))
        await agent.stop()
        try await run.value
    }

    @Test func offItSaysHowToTurnItOn() async throws {
        let broker = try Broker()
        var cfg = try config(broker, broker.dir.appendingPathComponent("data").path)
        cfg.http = ("127.0.0.1", 0)
        let agent = try Agent(config: cfg, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let run = Task { try await agent.run() }
        // 60 s: the suites that run beside this one (child processes, PostgreSQL, Prometheus) can
        // hold the concurrency pool, which starts the agent's services, for many seconds.
        try await waitUntil(timeout: .seconds(60), "the HTTP listener bound") { await agent.httpPort != nil }
        let off = try await answer(port: try #require(await agent.httpPort), "GET", "/v1/scan?series=x", token: "t")
        #expect(off.status == 404 && off.body.contains("[http] query = true"))
        await agent.stop()
        try await run.value
    }
}

/// The listener's idle timeout (`AgentConfig.httpIdleTimeout`) against long answers: it never cuts
/// one the client is taking, however long that takes, and it does cut a client that stops taking it.
@Suite struct AgentLongAnswerTests {
    static let points = 1_000_000
    static let t0: Int64 = 1_700_000_000_000

    /// An agent whose listener closes connections idle for 1 s, holding `points` points of series
    /// `s`: a CSV answer of about 20 MB, far more than the kernel buffers on loopback (4 MiB at most
    /// in the agent's socket, 256 KiB in the client's). Linux lets the agent write more only once a
    /// third of a full send buffer has gone, so the client must read over 1 MiB within the timeout.
    static func agent(_ broker: Broker) async throws -> (Agent, Task<Void, any Error>, Int) {
        let data = broker.dir.appendingPathComponent("data").path
        let db = try Database(path: data, options: DatabaseOptions())
        try db.putBatch(
            "s", timestamps: (0..<points).map { t0 + Int64($0) * 1000 }, values: (0..<points).map { Double($0 % 1000) })
        try db.close()
        var cfg = try config(broker, data)
        cfg.http = ("127.0.0.1", 0)
        cfg.httpIdleTimeout = .seconds(1)
        var q = QueryOptions(readerToken: "long-answer-token", gateway: "gw-1")
        q.maxScanPoints = points
        cfg.query = q
        let agent = try Agent(config: cfg, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let run = Task { try await agent.run() }
        try await waitUntil(timeout: .seconds(60), "the HTTP listener bound") { await agent.httpPort != nil }
        return (agent, run, try #require(await agent.httpPort))
    }

    @Test func aLongAnswerReadSlowlyIsNotCut() async throws {
        let broker = try Broker()
        let (agent, run, port) = try await Self.agent(broker)
        let got = try await onThread { try SlowReader(port: port).get("/v1/scan?series=s&format=csv", pause: 0.05) }
        let text = String(decoding: got.body, as: UTF8.self)
        #expect(got.status == 200 && got.body.count == got.contentLength, "\(got.body.count) of \(got.contentLength)")
        let starts = text.hasPrefix("ts,value\n\(Self.t0),0.0\n")
        #expect(starts, "\(text.prefix(100))")
        let last = Self.t0 + Int64(Self.points - 1) * 1000
        let ends = text.hasSuffix("\n\(last),\(Double((Self.points - 1) % 1000))\n")
        #expect(ends, "\(text.suffix(100))")
        // 15 MB or more could only leave the agent as the client read them, 256 KiB a read and
        // 50 ms between reads: for 3 s at least, three idle timeouts.
        #expect(got.readSeconds > 3, "read in \(got.readSeconds) s")
        await agent.stop()
        try await run.value
    }

    @Test func aClientThatStopsReadingIsCutOff() async throws {
        let broker = try Broker()
        let (agent, run, port) = try await Self.agent(broker)
        let got = try await onThread {
            try SlowReader(port: port).get("/v1/scan?series=s&format=csv", pause: 0, stallAfterHead: 4)
        }
        #expect(got.status == 200 && got.body.count < got.contentLength, "\(got.body.count) of \(got.contentLength)")
        await agent.stop()
        try await run.value
    }
}

/// `httpChunkedPost`, tried again for up to a minute while it gets no answer (as `answer`).
func chunkedPost(_ port: Int, _ path: String, _ token: String, _ body: [UInt8]) async throws -> (
    status: Int, body: String
) {
    var result: (status: Int, body: String)?
    try await waitUntil(timeout: .seconds(60), "an answer to the chunked POST \(path)") {
        result = try? await onThread { try httpChunkedPost(port: port, path, token: token, body: body) }
        return result != nil
    }
    return result!
}

/// Runs blocking socket work on a thread of its own, not on the pool the agent needs to answer it.
func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { done in Thread { done.resume(with: Result { try work() }) }.start() }
}

/// An HTTP client that takes its answer slowly: a 256 KiB receive buffer, a pause after each read,
/// and if asked a stall once the head has come.
struct SlowReader {
    let port: Int

    struct Got {
        var status = 0
        var contentLength = -1
        var body: [UInt8] = []
        /// From the head's arrival to the end of the body (or of the connection).
        var readSeconds = 0.0
    }

    func get(_ path: String, pause: Double, stallAfterHead: Double = 0) throws -> Got {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var size: Int32 = 256 << 10
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var tv = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else { throw HarnessError("cannot connect to 127.0.0.1:\(port)") }
        let request = Array(
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer long-answer-token\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count
        else {
            throw HarnessError("cannot send the request")
        }
        var got = Got()
        var buf = [UInt8](repeating: 0, count: 256 << 10)
        var headEnd: Int? = nil
        var headAt = Date()
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { break }  // the end, or the agent cut the connection (ECONNRESET)
            got.body += buf[0..<n]
            if headEnd == nil, let end = Self.headEnd(got.body) {
                headEnd = end
                headAt = Date()
                let head = String(decoding: got.body[..<end], as: UTF8.self)
                got.status = Int(head.dropFirst(9).prefix(3)) ?? 0
                for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    got.contentLength = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? -1
                }
                got.body.removeFirst(end)
                if stallAfterHead > 0 { Thread.sleep(forTimeInterval: stallAfterHead) }
            }
            if headEnd != nil && got.body.count >= got.contentLength { break }
            if pause > 0 { Thread.sleep(forTimeInterval: pause) }
        }
        got.readSeconds = Date().timeIntervalSince(headAt)
        guard headEnd != nil else { throw HarnessError("no HTTP head in \(got.body.count) bytes") }
        return got
    }

    /// Where the head ends (after its blank line), if it has.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4)
        where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }
}
