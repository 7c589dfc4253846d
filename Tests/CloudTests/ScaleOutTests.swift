import AgentHarness
import AliceDB
import Foundation
import TestKit
import Testing

/// Several `alicedb-cloud` nodes on one real PostgreSQL (a throw-away cluster on loopback), fed by
/// real agents through a real mosquitto: the nodes share everything, a node killed in the middle of
/// a batch loses nothing and stores nothing twice, and a database restart is survived.
@Suite(.serialized) struct ScaleOutTests {
    /// A node on `pg`, with every gateway and reader of `CloudFixture`.
    static func node(_ dir: String, _ pg: PostgresServer, queryTimeout: Double = 3) throws -> CloudProcess {
        try CloudProcess(directory: dir) { _, listen in
            """
            [server]
            listen = "\(listen)"
            rate_limit = 1000
            [storage]
            kind = "postgres"
            url = "\(pg.url)"
            pool_size = 4
            query_timeout = \(queryTimeout)
            connect_timeout = 1
            [[gateway]]
            name = "gw-1"
            token = "\(CloudFixture.gatewayToken)"
            [[gateway]]
            name = "gw-2"
            token = "\(CloudFixture.otherToken)"
            [[reader]]
            name = "grafana"
            token = "\(CloudFixture.readerToken)"
            """
        }
    }

    /// An agent whose topics are `<prefix>/<name>` and which uploads to `cloud` with `token`.
    static func agent(_ dir: String, _ broker: Broker, _ cloud: CloudProcess, prefix: String, token: String) throws
        -> AgentProcess
    {
        try AgentProcess(executable: BuiltExecutable.path("alicedb-agent"), directory: dir) { data, listen in
            """
            [mqtt]
            host = "127.0.0.1"
            port = \(broker.port)
            client_id = "\(prefix)-gateway"
            clean_session = false
            qos = 1
            [storage]
            path = "\(data)"
            memory_limit = "64KiB"
            max_buffer_age = 0.3
            [http]
            listen = "\(listen)"
            [uplink]
            url = "\(cloud.url)"
            token = "\(token)"
            batch_bytes = "4KiB"
            interval = 0.2
            timeout = 30
            retry_min = 0.1
            retry_max = 0.5
            [[subscribe]]
            topic = "\(prefix)/+"
            series = "{1}"
            format = "json"
            fields = { "{1}" = "v" }
            timestamp = "ts"
            """
        }
    }

    /// Points of two real series, one point a second.
    static func data(_ n: Int, offset: Int) -> [(name: String, ts: [Int64], values: [Double])] {
        let base: Int64 = 1_700_000_000_000
        return [("hpc_voltage.csv", "volts"), ("elf_air_pressure.csv", "air")].map { file, name in
            let d = TestSlices.load(file)
            return (name, (0..<n).map { base + Int64($0) * 1000 }, Array(d.values.dropFirst(offset).prefix(n)))
        }
    }

    static func publish(
        _ broker: Broker, prefix: String, _ series: [(name: String, ts: [Int64], values: [Double])], _ range: Range<Int>
    ) throws {
        try publish(port: broker.port, prefix: prefix, series, range)
    }

    static func publish(
        port: Int, prefix: String, _ series: [(name: String, ts: [Int64], values: [Double])], _ range: Range<Int>
    ) throws {
        let p = try LoadPublisher(port: port)
        for i in range {
            for s in series {
                try p.publish(
                    "\(prefix)/\(s.name)", Array("{\"ts\": \(s.ts[i]), \"v\": \(DoubleText.format(s.values[i]))}".utf8),
                    qos: 1)
            }
        }
        try p.drain()
    }

    /// Points a node says it holds for `gateway` (-1 when it does not answer).
    static func points(_ node: CloudProcess, _ gateway: String) -> Int {
        guard let r = try? node.request("GET", "/v1/gateways", token: CloudFixture.readerToken), r.status == 200,
            let list = CloudFixture.json(r.body)["gateways"] as? [[String: Any]]
        else { return -1 }
        return list.first { $0["name"] as? String == gateway }?["points"] as? Int ?? 0
    }

    /// Every node answers the same, and that is what the gateway stored: each point once, bit for bit.
    static func expectSame(_ nodes: [CloudProcess], gateway: String, agentData: String, series: [String]) throws {
        let local = try Database(path: agentData, options: DatabaseOptions(readOnly: true))
        defer { try? local.close() }
        for s in series {
            let mine = try local.scan(s)
            var answers = [String]()
            for node in nodes {
                let r = try node.request(
                    "GET", "/v1/scan?gateway=\(gateway)&series=\(s)&format=csv", token: CloudFixture.readerToken)
                #expect(r.status == 200, "\(r.body.prefix(200))")
                answers.append(r.body)
                let agg = try node.request(
                    "GET", "/v1/aggregate?gateway=\(gateway)&series=\(s)&format=csv", token: CloudFixture.readerToken)
                answers.append(agg.body)
                let down = try node.request(
                    "GET", "/v1/downsample?gateway=\(gateway)&series=\(s)&interval=60000&fn=max&format=csv",
                    token: CloudFixture.readerToken)
                answers.append(down.body)
            }
            for i in stride(from: 3, to: answers.count, by: 1) {
                #expect(answers[i] == answers[i % 3], "\(gateway)/\(s): nodes disagree")
            }
            let rows = answers[0].split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
            #expect(
                rows.map { Int64($0[0]) } == mine.map(\.timestamp), "\(gateway)/\(s): the cloud holds every point once")
            #expect(zip(rows, mine).allSatisfy { DoubleText.parse(String($0[1]))?.bitPattern == $1.value.bitPattern })
        }
    }

    @Test func twoNodesTwoAgentsOneDatabase() async throws {
        let dir = TempDirectory()
        let pg = try PostgresServer()
        let broker = try Broker()
        let a = try Self.node(dir.path + "/a", pg)
        let b = try Self.node(dir.path + "/b", pg)
        let one = try Self.agent(dir.path + "/gw1", broker, a, prefix: "gw1", token: CloudFixture.gatewayToken)
        let two = try Self.agent(dir.path + "/gw2", broker, b, prefix: "gw2", token: CloudFixture.otherToken)
        try await one.waitConnected()
        try await two.waitConnected()
        let n = 3000
        let d1 = Self.data(n, offset: 0)
        let d2 = Self.data(n, offset: 3000)
        // Both publish at once; each agent uploads to its own node.
        let port = broker.port
        async let p1: Void = Task.detached { try Self.publish(port: port, prefix: "gw1", d1, 0..<n) }.value
        async let p2: Void = Task.detached { try Self.publish(port: port, prefix: "gw2", d2, 0..<n) }.value
        _ = try await (p1, p2)
        try await one.waitMessages(2 * n)
        try await two.waitMessages(2 * n)
        // Each node sees what the other stored.
        try await waitUntil(timeout: .seconds(60), "every point of both gateways on node b") {
            Self.points(b, "gw-1") == 2 * n && Self.points(b, "gw-2") == 2 * n
        }
        #expect(Self.points(a, "gw-1") == 2 * n && Self.points(a, "gw-2") == 2 * n)
        try one.terminate()
        try two.terminate()
        try Self.expectSame([a, b], gateway: "gw-1", agentData: one.data, series: ["volts", "air"])
        try Self.expectSame([a, b], gateway: "gw-2", agentData: two.data, series: ["volts", "air"])
        // The listings agree too (last upload included: it lives in the database).
        let la = try a.request("GET", "/v1/gateways", token: CloudFixture.readerToken).body
        #expect(la == (try b.request("GET", "/v1/gateways", token: CloudFixture.readerToken).body))
        #expect(
            try a.request("GET", "/v1/series?gateway=gw-2", token: CloudFixture.otherToken).body
                == (try b.request("GET", "/v1/series?gateway=gw-2", token: CloudFixture.otherToken).body))
        // A gateway's token still reads only its own data, on either node.
        #expect(
            try b.request("GET", "/v1/scan?gateway=gw-1&series=volts", token: CloudFixture.otherToken).status == 403)
        #expect(a.terminate() == 0 && b.terminate() == 0)
    }

    @Test func nodeKilledMidBatchLosesNothingAndStoresNothingTwice() async throws {
        let dir = TempDirectory()
        let pg = try PostgresServer()
        let broker = try Broker()
        let a = try Self.node(dir.path + "/a", pg, queryTimeout: 30)
        let b = try Self.node(dir.path + "/b", pg)
        let agent = try Self.agent(dir.path + "/gw1", broker, a, prefix: "gw1", token: CloudFixture.gatewayToken)
        try await agent.waitConnected()
        let n = 1500
        let d = Self.data(2 * n, offset: 0)
        try Self.publish(broker, prefix: "gw1", d, 0..<n)
        try await waitUntil(timeout: .seconds(60), "the first half on the cloud") { Self.points(b, "gw-1") == 2 * n }

        // Hold a lock the ingest transaction needs last, so node a is caught inside a batch:
        // its segments inserted, not committed.
        let holder = try spawn(
            [
                "/usr/bin/psql", "-h", "127.0.0.1", "-p", String(pg.port), "-U", pg.user, "-d", pg.database, "-c",
                "BEGIN; LOCK TABLE alicedb_gateways IN EXCLUSIVE MODE; SELECT pg_sleep(120); COMMIT;",
            ],
            environment: ["PGPASSWORD": pg.password])
        defer {
            kill(holder, SIGKILL)
            waitForExit(holder)
        }
        try await waitUntil(timeout: .seconds(10), "the lock") {
            try pg.psql("SELECT count(*) FROM pg_locks WHERE mode = 'ExclusiveLock' AND locktype = 'relation'") != "0\n"
        }
        try Self.publish(broker, prefix: "gw1", d, n..<(2 * n))
        try await waitUntil(timeout: .seconds(30), "node a waiting inside a batch") {
            try pg.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO alicedb_gateways%'"
            ) != "0\n"
        }
        let uncommitted = try pg.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND wait_event_type = 'Lock'")
        #expect(uncommitted != "0\n")
        a.kill()
        _ = try pg.psql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()"
        )
        #expect(Self.points(b, "gw-1") == 2 * n, "the killed batch left nothing behind")

        // Node a back on its port: the agent sends the batch again, and it is stored once.
        try a.start()
        try await waitUntil(timeout: .seconds(60), "every point on the cloud") { Self.points(b, "gw-1") == 4 * n }
        try agent.terminate()
        #expect(Self.points(a, "gw-1") == 4 * n)
        try Self.expectSame([a, b], gateway: "gw-1", agentData: agent.data, series: ["volts", "air"])
        let rows = try pg.psql(
            "SELECT count(*) - count(DISTINCT (series_key, first_ts, last_ts)) FROM alicedb_segments")
        #expect(rows == "0\n", "no segment is stored twice")
        #expect(a.terminate() == 0 && b.terminate() == 0)
    }

    @Test func databaseRestartMakesNodesUnhealthyThenTheyRecover() async throws {
        let dir = TempDirectory()
        let pg = try PostgresServer()
        let broker = try Broker()
        let a = try Self.node(dir.path + "/a", pg)
        let b = try Self.node(dir.path + "/b", pg)
        let agent = try Self.agent(dir.path + "/gw1", broker, a, prefix: "gw1", token: CloudFixture.gatewayToken)
        try await agent.waitConnected()
        let n = 1000
        let d = Self.data(3 * n, offset: 0)
        try Self.publish(broker, prefix: "gw1", d, 0..<n)
        try await waitUntil(timeout: .seconds(60), "the first part on the cloud") { Self.points(a, "gw-1") == 2 * n }
        #expect(try a.request("GET", "/healthz", token: nil).status == 200)

        pg.stop()
        for node in [a, b] {
            try await waitUntil(timeout: .seconds(15), "/healthz to say 503") {
                try node.request("GET", "/healthz", token: nil).status == 503
            }
            let q = try node.request("GET", "/v1/scan?gateway=gw-1&series=volts", token: CloudFixture.readerToken)
            #expect(q.status == 503, "\(q.body)")
        }
        let batch = try CloudFixture.batches(in: dir.path + "/direct", points: 300)[0].body
        let refused = try b.request("POST", "/v1/segments", token: CloudFixture.otherToken, body: batch)
        #expect(refused.status == 503 && refused.body.contains("PostgreSQL"), "\(refused.body)")
        // The agent keeps collecting meanwhile.
        try Self.publish(broker, prefix: "gw1", d, n..<(2 * n))
        try await agent.waitMessages(4 * n)
        try await waitUntil(timeout: .seconds(20), "failed uploads") {
            (agent.metric("alicedb_uplink_failures_total") ?? 0) > 0
        }

        try pg.start()
        for node in [a, b] {
            try await waitUntil(timeout: .seconds(30), "/healthz to recover") {
                try node.request("GET", "/healthz", token: nil).status == 200
            }
        }
        try Self.publish(broker, prefix: "gw1", d, (2 * n)..<(3 * n))
        try await waitUntil(timeout: .seconds(60), "every point on the cloud") { Self.points(b, "gw-1") == 6 * n }
        #expect(try b.request("POST", "/v1/segments", token: CloudFixture.otherToken, body: batch).status == 200)
        try agent.terminate()
        try Self.expectSame([a, b], gateway: "gw-1", agentData: agent.data, series: ["volts", "air"])
        #expect(a.terminate() == 0 && b.terminate() == 0)
    }

    /// `alicedb-cloud tokens …` against one node's configuration; its output and exit status.
    static func tokens(_ node: CloudProcess, _ args: [String]) throws -> (status: Int32, output: String) {
        let out = node.directory + "/tokens-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let status = waitForExit(
            try spawn([node.executable, "tokens"] + args + ["--config", node.configPath], output: out))
        return (status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }

    @Test func tokensInTheDatabaseWorkOnEveryNode() async throws {
        let dir = TempDirectory()
        let pg = try PostgresServer()
        let a = try Self.node(dir.path + "/a", pg)
        let b = try Self.node(dir.path + "/b", pg)
        // A gateway neither node's configuration lists.
        let added = try Self.tokens(a, ["add", "--name", "gw-3"])
        #expect(added.status == 0, "\(added.output)")
        let token = added.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.count == 64, "\(added.output)")
        let reader = try Self.tokens(
            b, ["add", "--name", "ops", "--role", "reader", "--token", "a-reader-token-of-ours"])
        #expect(reader.status == 0)
        #expect(try Self.tokens(a, ["add", "--name", "bad/name"]).status != 0)
        let listed = try Self.tokens(b, ["list"]).output
        #expect(listed.contains("gateway,gw-3,") && listed.contains("reader,ops,") && !listed.contains(token))

        let batch = try CloudFixture.batches(in: dir.path + "/gw", points: 500)[0].body
        let up = try a.request("POST", "/v1/segments", token: token, body: batch)
        #expect(up.status == 200, "\(up.body)")
        for node in [a, b] {
            let r = try node.request("GET", "/v1/series?gateway=gw-3&format=csv", token: "a-reader-token-of-ours")
            #expect(r.status == 200 && r.body.contains("boiler.temp,"), "\(r.body)")
            // A gateway's stored token reads its own data only.
            #expect(try node.request("GET", "/v1/series?gateway=gw-1", token: token).status == 403)
        }
        #expect(try b.request("GET", "/v1/gateways", token: "not-a-stored-token").status == 401)

        let removed = try Self.tokens(b, ["remove", "--name", "gw-3"])
        #expect(removed.output.contains("removed 1 token"))
        // Within the cache period every node refuses it.
        try await waitUntil(timeout: .seconds(15), "the removed token refused by both nodes") {
            try a.request("GET", "/v1/series", token: token).status == 401
                && b.request("GET", "/v1/series", token: token).status == 401
        }
        #expect(a.terminate() == 0 && b.terminate() == 0)
    }

    @Test func aNewerSchemaIsRefusedAndConcurrentStartsMigrateOnce() async throws {
        let dir = TempDirectory()
        let pg = try PostgresServer()
        // Four nodes start at once on an empty database: one creates the schema, all run.
        let started = NSLock()
        nonisolated(unsafe) var nodes = [CloudProcess]()
        let root = dir.path
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            guard let node = try? Self.node(root + "/n\(i)", pg) else { return }
            started.withLock { nodes.append(node) }
        }
        #expect(nodes.count == 4)
        #expect(try pg.psql("SELECT count(*), max(version) FROM alicedb_schema") == "2|2\n")
        for node in nodes { #expect(node.terminate() == 0) }
        // A version-1 database (before tokens were kept) is migrated in place, its data kept.
        _ = try pg.psql("DROP TABLE alicedb_tokens")
        _ = try pg.psql("DELETE FROM alicedb_schema WHERE version = 2")
        _ = try pg.psql("INSERT INTO alicedb_gateways VALUES ('gw-1', 1)")
        let migrated = try Self.node(dir.path + "/migrated", pg)
        #expect(try pg.psql("SELECT max(version) FROM alicedb_schema") == "2\n")
        #expect(try pg.psql("SELECT count(*) FROM alicedb_tokens") == "0\n")
        #expect(try migrated.request("GET", "/v1/gateways", token: CloudFixture.readerToken).body.contains("\"gw-1\""))
        #expect(migrated.terminate() == 0)
        _ = try pg.psql("UPDATE alicedb_schema SET version = 99")
        #expect(throws: HarnessError.self) { _ = try Self.node(dir.path + "/new", pg) }
        let log = (try? String(contentsOfFile: dir.path + "/new/cloud.log", encoding: .utf8)) ?? ""
        #expect(log.contains("schema is version 99"), "\(log)")
    }
}
