import AgentHarness
import AliceDB
import Cloud
import Foundation
import TestKit
import Testing

@Suite(.serialized) struct CloudNodeTests {
    @Test func configMistakesNameTheLine() {
        let bad = """
            [server]
            listen = "127.0.0.1:8470"
            [[gateway]]
            name = "gw/1"
            token = "long-enough-token"
            """
        expectThrowsConfig("cloud.toml:4: gateway[0].name") { _ = try CloudConfig.parse(bad, file: "cloud.toml") }
        let short = "[[gateway]]\nname = \"g\"\ntoken = \"short\"\n"
        expectThrowsConfig("cloud.toml:3: gateway[0].token") { _ = try CloudConfig.parse(short, file: "cloud.toml") }
        let typo =
            "[server]\nlisten = \"127.0.0.1:1\"\nmax_bdy = 5\n[[gateway]]\nname = \"g\"\ntoken = \"long-enough\"\n"
        expectThrowsConfig("cloud.toml:3: server.max_bdy: unknown key") {
            _ = try CloudConfig.parse(typo, file: "cloud.toml")
        }
        expectThrowsConfig("cloud.toml: no [[gateway]] entries") { _ = try CloudConfig.parse("", file: "cloud.toml") }
        // The PostgreSQL store's settings.
        let gw = "[[gateway]]\nname = \"g\"\ntoken = \"long-enough\"\n"
        func storage(_ lines: String) -> String { "[storage]\n" + lines + "\n" + gw }
        let pg = try? CloudConfig.parse(
            storage(
                "kind = \"postgres\"\nurl = \"postgresql://al%40ce:p%3Ass@db.example:6543/fleet?sslmode=require\"\npool_size = 3"
            ), file: "c")
        #expect(pg?.postgres?.user == "al@ce" && pg?.postgres?.password == "p:ss" && pg?.postgres?.host == "db.example")
        #expect(
            pg?.postgres?.port == 6543 && pg?.postgres?.database == "fleet" && pg?.postgres?.tls == .require
                && pg?.postgres?.poolSize == 3)
        #expect(
            pg?.summary.contains("postgres://al@ce:***@db.example:6543/fleet") == true
                && pg?.summary.contains("p:ss") == false)
        let v6 = try? CloudConfig.parse(storage("kind = \"postgres\"\nurl = \"postgres://u@[::1]/\""), file: "c")
        #expect(v6?.postgres?.host == "::1" && v6?.postgres?.port == 5432 && v6?.postgres?.database == "alicedb")
        expectThrowsConfig("c:2: storage.kind: must be \"embedded\"") {
            _ = try CloudConfig.parse(storage("kind = \"mysql\""), file: "c")
        }
        expectThrowsConfig("c:1: storage.url: is required") {
            _ = try CloudConfig.parse(storage("kind = \"postgres\""), file: "c")
        }
        expectThrowsConfig("c:3: storage.url: sslmode must be") {
            _ = try CloudConfig.parse(storage("kind = \"postgres\"\nurl = \"postgres://h/d?sslmode=maybe\""), file: "c")
        }
        expectThrowsConfig("c:3: storage.url: port must be") {
            _ = try CloudConfig.parse(storage("kind = \"postgres\"\nurl = \"postgres://h:99999/d\""), file: "c")
        }
        expectThrowsConfig("c:3: storage.url: must start with") {
            _ = try CloudConfig.parse(storage("kind = \"postgres\"\nurl = \"mysql://h/d\""), file: "c")
        }
        expectThrowsConfig("c:2: storage.url: is a setting of kind") {
            _ = try CloudConfig.parse(storage("url = \"postgres://h/d\""), file: "c")
        }
        expectThrowsConfig("c:4: storage.path: is a setting of kind") {
            _ = try CloudConfig.parse(
                storage("kind = \"postgres\"\nurl = \"postgres://h/d\"\npath = \"/x\""), file: "c")
        }
        expectThrowsConfig("c:4: storage.recompress_after: is a setting of kind") {
            _ = try CloudConfig.parse(
                storage("kind = \"postgres\"\nurl = \"postgres://h/d\"\nrecompress_after = \"7d\""), file: "c")
        }
        let recompressing = try? CloudConfig.parse(storage("recompress_after = \"2w\""), file: "c")
        #expect(recompressing?.recompressAfter == 1_209_600)
        #expect(recompressing?.summary.contains("recompress_after=1209600s") == true)
        expectThrowsConfig("c:2: storage.recompress_after: must be a duration") {
            _ = try CloudConfig.parse(storage("recompress_after = \"later\""), file: "c")
        }
        expectThrowsConfig("c:4: storage.pool_size") {
            _ = try CloudConfig.parse(
                storage("kind = \"postgres\"\nurl = \"postgres://h/d\"\npool_size = 0"), file: "c")
        }
        expectThrowsConfig("c:4: storage.password_file: /nonexistent/pw: no such file") {
            _ = try CloudConfig.parse(
                storage("kind = \"postgres\"\nurl = \"postgres://u@h/d\"\npassword_file = \"/nonexistent/pw\""),
                file: "c")
        }
        // The shipped example and the embedded default are valid.
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let example = try? CloudConfig.load(path: root.appendingPathComponent("examples/cloud.toml").path)
        #expect(example?.tokens.count == 3 && example?.port == 8470)
        #expect(
            (try? CloudConfig.parse(CloudConfig.defaultText, file: "default"))?.tokens["dev-token"]?.name == "gateway-1"
        )
    }

    @Test(arguments: StorageKind.allCases) func uploadsAreIdempotentAndQueriesAnswerWhatWasStored(_ kind: StorageKind)
        throws
    {
        let dir = TempDirectory()
        let (cloud, pg) = try CloudFixture.node(kind, dir.path + "/cloud")
        defer { withExtendedLifetime(pg) {} }
        let batches = try CloudFixture.batches(in: dir.path + "/gw", maxBytes: 2048)
        #expect(batches.count >= 2)
        var stored = 0
        for b in batches {
            let r = try cloud.request("POST", "/v1/segments", token: CloudFixture.gatewayToken, body: b.body)
            #expect(r.status == 200, "\(r.body)")
            stored += CloudFixture.json(r.body)["stored"] as? Int ?? 0
        }
        #expect(stored == batches.reduce(0) { $0 + $1.segments })
        // The same batch again: stored once.
        let again = try cloud.request(
            "POST", "/v1/segments", token: CloudFixture.gatewayToken, body: batches[0].body)
        #expect(CloudFixture.json(again.body)["stored"] as? Int == 0)
        #expect(CloudFixture.json(again.body)["duplicates"] as? Int == batches[0].segments)

        let gateway = try Database(path: dir.path + "/gw", options: DatabaseOptions(readOnly: true))
        let expected = try gateway.scan("boiler.temp")
        let csv = try cloud.request(
            "GET", "/v1/scan?gateway=gw-1&series=boiler.temp&format=csv", token: CloudFixture.readerToken)
        #expect(csv.status == 200)
        let rows = csv.body.split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        #expect(rows.count == expected.count)
        #expect(
            zip(rows, expected).allSatisfy {
                Int64($0[0]) == $1.timestamp && Double($0[1])?.bitPattern == $1.value.bitPattern
            })
        // Paging: `next` leads through every point.
        var from = Int64.min
        var seen = 0
        while true {
            let page = CloudFixture.json(
                try cloud.request(
                    "GET", "/v1/scan?gateway=gw-1&series=plant%2Fvolts&limit=700&from=\(from)",
                    token: CloudFixture.gatewayToken
                ).body)
            seen += (page["points"] as? [Any])?.count ?? 0
            guard let next = page["next"] as? Int else { break }
            from = Int64(next)
        }
        #expect(seen == (try gateway.scan("plant/volts")).count)
        // Aggregates agree with the gateway's.
        let agg = CloudFixture.json(
            try cloud.request("GET", "/v1/aggregate?series=plant%2Fvolts", token: CloudFixture.gatewayToken).body)
        let local = try gateway.aggregate("plant/volts")
        #expect(agg["count"] as? Int == local.count)
        #expect(agg["min"] as? Double == local.min && agg["max"] as? Double == local.max)
        #expect(abs((agg["sum"] as? Double ?? 0) - local.sum) <= abs(local.sum) * 1e-12)
        let down = try cloud.request(
            "GET", "/v1/downsample?gateway=gw-1&series=boiler.temp&interval=86400000&fn=max&format=csv",
            token: CloudFixture.readerToken)
        #expect(down.status == 200 && down.body.hasPrefix("ts,max\n"))
        #expect(
            down.body.split(separator: "\n").count - 1
                == (try gateway.downsample(
                    "boiler.temp", from: expected[0].timestamp, to: expected.last!.timestamp, interval: 86_400_000))
                .count)
        let point = try cloud.request(
            "GET", "/v1/get?gateway=gw-1&series=boiler.temp&at=\(expected[10].timestamp)",
            token: CloudFixture.readerToken)
        #expect(CloudFixture.json(point.body)["value"] as? Double == expected[10].value)
        #expect(
            try cloud.request("GET", "/v1/get?gateway=gw-1&series=boiler.temp&at=1", token: CloudFixture.readerToken)
                .status == 404)
        // The CLI against the node prints what it prints against the gateway's directory.
        func cli(_ args: [String]) throws -> String {
            let out = dir.path + "/cli.out"
            try? FileManager.default.removeItem(atPath: out)  // spawn appends
            let status = waitForExit(try spawn([BuiltExecutable.path("alicedb")] + args, output: out))
            #expect(
                status == 0,
                "alicedb \(args.joined(separator: " ")): \((try? String(contentsOfFile: out, encoding: .utf8)) ?? "")")
            return (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        }
        let remote = ["--cloud", cloud.url, "--token", CloudFixture.readerToken, "--gateway", "gw-1"]
        for series in ["boiler.temp", "plant/volts"] {
            let here = try cli(["export", "--db", dir.path + "/gw", "--series", series])
            #expect(here.split(separator: "\n").count == (try gateway.scan(series)).count + 1)
            #expect(try cli(["export", "--series", series] + remote) == here, "\(series)")
            let range = [
                "--from", "\(expected[100].timestamp)", "--to", "\(expected[2500].timestamp)", "--format", "csv",
            ]
            #expect(
                try cli(["scan", "--series", series] + range + remote)
                    == (try cli(["scan", "--db", dir.path + "/gw", "--series", series] + range)))
            let down = ["--interval", "3600000", "--fn", "min", "--format", "csv"]
            #expect(
                try cli(["downsample", "--series", series] + down + remote)
                    == (try cli(["downsample", "--db", dir.path + "/gw", "--series", series] + down)))
            #expect(
                try cli(["agg", "--series", series, "--fn", "max", "--format", "csv"] + remote)
                    == (try cli(["agg", "--db", dir.path + "/gw", "--series", series, "--fn", "max", "--format", "csv"]))
            )
        }
        #expect(try cli(["stats", "--format", "csv"] + remote).contains("plant/volts,"))
        let list = CloudFixture.json(try cloud.request("GET", "/v1/gateways", token: CloudFixture.readerToken).body)
        #expect((list["gateways"] as? [[String: Any]])?.map { $0["name"] as? String } == ["gw-1"])
        #expect(cloud.terminate() == 0)
    }

    @Test(arguments: StorageKind.allCases) func hostileRequestsGetA4xxAndChangeNothing(_ kind: StorageKind) throws {
        let dir = TempDirectory()
        let (cloud, pg) = try CloudFixture.node(kind, dir.path + "/cloud", extra: "rate_burst = 30", rateLimit: 1)
        defer { withExtendedLifetime(pg) {} }
        let batches = try CloudFixture.batches(in: dir.path + "/gw", points: 2000)
        let good = batches[0].body
        #expect(try cloud.request("POST", "/v1/segments", token: CloudFixture.gatewayToken, body: good).status == 200)
        func stored() throws -> String {
            try cloud.request("GET", "/v1/series?gateway=gw-1&format=csv", token: CloudFixture.readerToken).body
        }
        let before = try stored()
        var damaged = good
        damaged[damaged.count / 2] ^= 0x40
        let cases: [(String, String?, [UInt8], [String], Int)] = [
            ("no token", nil, good, [], 401),
            ("wrong token", "not-a-token-at-all", good, [], 401),
            ("a reader uploading", CloudFixture.readerToken, good, [], 403),
            ("garbage", CloudFixture.gatewayToken, Array("{\"points\": [1, 2, 3]}".utf8), [], 400),
            ("empty body", CloudFixture.gatewayToken, [], [], 400),
            ("damaged batch", CloudFixture.gatewayToken, damaged, [], 400),
            ("truncated batch", CloudFixture.gatewayToken, Array(good.prefix(good.count - 9)), [], 400),
            ("too large", CloudFixture.gatewayToken, [UInt8](repeating: 65, count: 300 << 10), [], 413),
        ]
        for (what, token, body, headers, status) in cases {
            let r = try cloud.request("POST", "/v1/segments", token: token, body: body, headers: headers)
            #expect(r.status == status, "\(what): \(r.status) \(r.body)")
            #expect(CloudFixture.json(r.body)["error"] is String, "\(what): \(r.body)")
        }
        // Unknown gateways and series are looked up in the store: 404 from either (parameters and
        // tokens without a store are in CloudRouteTests).
        #expect(
            try cloud.request("GET", "/v1/scan?gateway=gw-9&series=x", token: CloudFixture.readerToken).status == 404)
        #expect(
            try cloud.request("GET", "/v1/scan?gateway=gw-1&series=nope", token: CloudFixture.readerToken).status == 404
        )
        // A header far past the limits, and bytes that are not HTTP: refused, and the node stays up.
        let huge = try httpRaw(
            port: cloud.port,
            Array("GET /healthz HTTP/1.1\r\nX: \(String(repeating: "a", count: 200_000))\r\n\r\n".utf8))
        #expect(!huge.hasPrefix("HTTP/1.1 200"))
        _ = try? httpRaw(port: cloud.port, Array(repeating: 0xFF, count: 5000))
        #expect(try cloud.request("GET", "/healthz", token: nil).status == 200)
        #expect(try stored() == before)
        // Unknown paths are 404 and do not add label values to /metrics.
        #expect(
            try cloud.request("GET", "/v1/no-such-\(UUID().uuidString)", token: CloudFixture.readerToken).status == 404)
        let metrics = try cloud.request("GET", "/metrics", token: nil).body
        #expect(!metrics.contains("no-such") && metrics.contains("route=\"other\",status=\"404\""))
        #expect(metrics.contains("alicedb_cloud_unauthorized_total 2"))
        // Past the rate limit: 429 with Retry-After, for that token only.
        var limited = 0
        // 1 request/s with bursts of 30: 100 requests in a row exceed it unless they take over 70 s.
        for _ in 0..<100 where try cloud.request("GET", "/v1/gateways", token: CloudFixture.otherToken).status == 429 {
            limited += 1
        }
        #expect(limited > 0)
        #expect(try cloud.request("GET", "/v1/gateways", token: CloudFixture.readerToken).status == 200)
        #expect(cloud.terminate() == 0)
    }

    @Test(arguments: StorageKind.allCases) func grafanaSpeaksPrometheusToIt(_ kind: StorageKind) throws {
        let dir = TempDirectory()
        let (cloud, pg) = try CloudFixture.node(kind, dir.path + "/cloud")
        defer { withExtendedLifetime(pg) {} }
        for b in try CloudFixture.batches(in: dir.path + "/gw", points: 3000) {
            #expect(
                try cloud.request("POST", "/v1/segments", token: CloudFixture.gatewayToken, body: b.body)
                    .status == 200)
        }
        let gateway = try Database(path: dir.path + "/gw", options: DatabaseOptions(readOnly: true))
        let points = try gateway.scan("boiler.temp")
        let start = points[0].timestamp / 1000
        let end = points[2000].timestamp / 1000
        // Grafana's health check, then a panel's query as a form POST.
        let health = CloudFixture.json(
            try cloud.request("GET", "/api/v1/query?query=1%2B1", token: CloudFixture.readerToken).body)
        #expect(health["status"] as? String == "success")
        let form = Array(
            "query=max_over_time(alicedb%7Bseries%3D%22boiler.temp%22%7D%5B1h%5D)&start=\(start)&end=\(end)&step=3600"
                .utf8)
        let r = try cloud.request(
            "POST", "/api/v1/query_range", token: CloudFixture.readerToken, body: form,
            headers: ["Content-Type: application/x-www-form-urlencoded"])
        let data = CloudFixture.json(r.body)["data"] as? [String: Any]
        let result = (data?["result"] as? [[String: Any]]) ?? []
        #expect(result.count == 1, "\(r.body.prefix(300))")
        // Form bodies up to 1 MiB (ReadAPI's FormBody, the agent's too); one byte more is refused with 413.
        let padded = { (size: Int) in
            form + Array("&pad=".utf8) + [UInt8](repeating: 0x78, count: size - form.count - 5)
        }
        let mib = try cloud.request(
            "POST", "/api/v1/query_range", token: CloudFixture.readerToken, body: padded(1 << 20),
            headers: ["Content-Type: application/x-www-form-urlencoded"])
        #expect(mib.status == 200 && mib.body == r.body, "\(mib.status) \(mib.body.prefix(300))")
        let over = try cloud.request(
            "POST", "/api/v1/query_range", token: CloudFixture.readerToken, body: padded((1 << 20) + 1),
            headers: ["Content-Type: application/x-www-form-urlencoded"])
        #expect(
            over.status == 413 && over.body.contains("\"errorType\": \"bad_data\"")
                && over.body.contains("request body: larger than 1048576 bytes (1 MiB)"), "\(over)")
        // Sent in chunks, the body's length shows only as it is read: the same refusal.
        let chunked = try httpChunkedPost(
            port: cloud.port, "/api/v1/query_range", token: CloudFixture.readerToken, body: padded((1 << 20) + 1))
        #expect(chunked.status == 413 && chunked.body == over.body, "\(chunked.status) \(chunked.body.prefix(300))")
        let small = try httpChunkedPost(
            port: cloud.port, "/api/v1/query", token: CloudFixture.readerToken, body: padded(4096))
        #expect(small.status == 200, "\(small.status) \(small.body.prefix(300))")
        let metric = result.first?["metric"] as? [String: String]
        #expect(metric?["gateway"] == "gw-1" && metric?["series"] == "boiler.temp")
        let values = (result.first?["values"] as? [[Any]]) ?? []
        #expect(!values.isEmpty)
        // Each step's value is the max of the samples in the hour up to it, both ends included (Prometheus 2).
        for v in values.prefix(50) {
            guard let t = v[0] as? Double, let text = v[1] as? String, let got = Double(text) else { continue }
            let ms = Int64(t * 1000)
            let expected = points.filter { $0.timestamp >= ms - 3_600_000 && $0.timestamp <= ms }.map(\.value).max()
            #expect(expected == got, "at \(t)")
        }
        let labels = CloudFixture.json(
            try cloud.request("GET", "/api/v1/label/series/values", token: CloudFixture.readerToken).body)
        #expect(labels["data"] as? [String] == ["boiler.temp", "plant/volts"])
        let regex = CloudFixture.json(
            try cloud.request(
                "GET", "/api/v1/series?match%5B%5D=%7Bseries%3D~%22plant.*%22%7D", token: CloudFixture.readerToken
            ).body)
        #expect((regex["data"] as? [[String: String]])?.map { $0["series"] } == ["plant/volts"])
        // What Grafana asks when it connects and builds queries, GET and POST, with match[] and a time range.
        func answer(_ method: String, _ path: String, _ form: String = "") throws -> Any? {
            let r = try cloud.request(
                method, path, token: CloudFixture.readerToken, body: Array(form.utf8),
                headers: ["Content-Type: application/x-www-form-urlencoded"])
            return CloudFixture.json(r.body)["data"]
        }
        #expect(try answer("GET", "/api/v1/labels") as? [String] == ["__name__", "gateway", "series"])
        #expect(try answer("POST", "/api/v1/label/gateway/values", "match%5B%5D=alicedb") as? [String] == ["gw-1"])
        let both =
            "match%5B%5D=alicedb%7Bseries%3D%22boiler.temp%22%7D&match%5B%5D=alicedb%7Bseries%3D%22plant%2Fvolts%22%7D"
        #expect((try answer("POST", "/api/v1/series", both) as? [[String: String]])?.count == 2)
        let later = points.last!.timestamp / 1000 + 86_400
        #expect(
            (try answer("GET", "/api/v1/series?match%5B%5D=alicedb&start=\(later)") as? [[String: String]])?.isEmpty
                == true)
        // The voltages are from 2006, the temperatures from 2010: only one series has data in the panel's range.
        let inRange =
            try answer("GET", "/api/v1/series?match%5B%5D=alicedb&start=\(start)&end=\(end)") as? [[String: String]]
        #expect(inRange?.map { $0["series"] } == ["boiler.temp"])
        let noMatch = try cloud.request("GET", "/api/v1/series", token: CloudFixture.readerToken)
        #expect(noMatch.status == 400 && CloudFixture.json(noMatch.body)["errorType"] as? String == "bad_data")
        #expect((try answer("GET", "/api/v1/metadata") as? [String: Any])?["alicedb"] != nil)
        #expect((try answer("POST", "/api/v1/status/buildinfo") as? [String: Any])?["version"] is String)
    }
}

/// Expects `body` to throw an error whose text starts with `prefix` (file:line: key: …).
func expectThrowsConfig(_ prefix: String, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected a configuration error starting \(prefix)")
    } catch {
        #expect("\(error)".hasPrefix(prefix), "\(error)")
    }
}
