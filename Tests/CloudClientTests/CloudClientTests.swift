import AliceDB
import CloudClient
import NIOPosix
import TestKit
import TestSupport
import Testing

/// CloudClient against a real cloud node on 127.0.0.1: uploads, the node's refusals decoded
/// from its JSON, and queries that answer what the gateway's own database answers.
@Suite struct CloudClientTests {
    @Test func uploadsAreAcknowledgedAndQueriesAnswerWhatWasStored() async throws {
        let dir = TempDirectory()
        let node = try await LoopbackNode.start(in: dir.path + "/cloud")
        let batches = try LoopbackNode.batches(in: dir.path + "/gw")
        #expect(batches.count >= 2)
        // The agent's kind of client: a pool of its own on given event loops.
        let gateway = try CloudClient(
            url: node.url + "/", token: LoopbackNode.gatewayToken, tls: .init(), timeout: .seconds(30),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        var stored = 0
        var points = 0
        for b in batches {
            let ack = try await gateway.upload(b.bytes)
            #expect(ack.stored == b.segments && ack.duplicates == 0 && ack.rejected.isEmpty)
            stored += ack.stored
            points += ack.points
        }
        #expect(stored == batches.reduce(0) { $0 + $1.segments })
        #expect(points == 6000)
        // A batch sent again (its acknowledgement lost): stored once, counted as duplicates.
        let again = try await gateway.upload(batches[0].bytes)
        #expect(again == CloudClient.UploadAck(duplicates: batches[0].segments))

        let local = try Database(path: dir.path + "/gw", options: DatabaseOptions(readOnly: true))
        // The CLI's kind of client: the shared HTTP client, a reader's token, a gateway named.
        let reader = try CloudClient(url: node.url, token: LoopbackNode.readerToken)
        let series = try await reader.series(gateway: "gw-1")
        #expect(series.map(\.name) == ["boiler.temp", "plant/volts"])
        for s in try local.stats().series {
            let remote = try #require(series.first { $0.name == s.name })
            #expect(remote.points == s.points && remote.first == s.firstTimestamp && remote.last == s.lastTimestamp)
            #expect(remote.bound == s.bound)
        }
        #expect(try await gateway.series().map(\.name) == series.map(\.name))  // its own gateway by default
        for name in ["boiler.temp", "plant/volts"] {
            let expected = try local.scan(name)
            // Pages of 700 points lead through every point, bit for bit.
            var page = try await reader.scan(name, limit: 700, gateway: "gw-1")
            var got = [(Int64, Double)]()
            while true {
                got += zip(page.timestamps, page.values)
                guard let next = page.next else { break }
                page = try await reader.scan(name, from: next, limit: 700, gateway: "gw-1")
            }
            #expect(got.count == expected.count)
            #expect(
                zip(got, expected).allSatisfy { $0.0 == $1.timestamp && $0.1.bitPattern == $1.value.bitPattern })
            let from = expected[100].timestamp
            let to = expected[2500].timestamp
            let agg = try await reader.aggregate(name, from: from, to: to, gateway: "gw-1")
            let mine = try local.aggregate(name, from: from, to: to)
            #expect(agg.count == mine.count && agg.min == mine.min && agg.max == mine.max)
            #expect(abs((agg.sum ?? 0) - mine.sum) <= abs(mine.sum) * 1e-12)
            let buckets = try await reader.downsample(name, interval: 3_600_000, fn: .max, gateway: "gw-1")
            let mineBuckets = try local.downsample(
                name, from: expected[0].timestamp, to: expected.last!.timestamp, interval: 3_600_000)
            #expect(buckets.map(\.start) == mineBuckets.map(\.start))
            #expect(buckets.map(\.value) == mineBuckets.map(\.result.max))
            #expect(try await reader.get(name, at: expected[10].timestamp, gateway: "gw-1") == expected[10].value)
            #expect(try await reader.get(name, at: expected[10].timestamp + 1, gateway: "gw-1") == nil)
        }
        try local.close()
        await gateway.shutdown()
        await node.stop()
    }

    @Test func refusalsCarryTheNodesStatusCodeAndMessage() async throws {
        let dir = TempDirectory()
        let node = try await LoopbackNode.start(in: dir.path + "/cloud", maxBody: "16KiB")
        let batch = try LoopbackNode.batches(in: dir.path + "/gw", points: 500)[0].bytes
        let segments = node.url + "/v1/segments"

        let stranger = try CloudClient(url: node.url, token: "not-a-token-at-all")
        let unknown = await refusal { _ = try await stranger.upload(batch) }
        #expect(unknown?.status == 401 && unknown?.code == .unknownToken && unknown?.message == "unknown token")
        #expect(unknown?.url == segments && unknown?.isRetryable == false)
        #expect(unknown?.description == "\(segments): cloud node answered 401 (unknown_token): unknown token")

        let reader = try CloudClient(url: node.url, token: LoopbackNode.readerToken)
        let uploading = await refusal { _ = try await reader.upload(batch) }
        #expect(uploading?.status == 403 && uploading?.code == .forbidden)
        #expect(uploading?.message.contains("only gateways upload") == true)

        let gateway = try CloudClient(url: node.url, token: LoopbackNode.gatewayToken)
        let garbage = await refusal { _ = try await gateway.upload(Array("{\"points\": [1]}".utf8)) }
        #expect(garbage?.status == 400 && garbage?.code == .badRequest && garbage?.message.isEmpty == false)
        let large = await refusal { _ = try await gateway.upload([UInt8](repeating: 65, count: 20 << 10)) }
        #expect(large?.status == 413 && large?.code == .tooLarge && large?.isRetryable == false)
        #expect(large?.message.contains("max_body") == true)

        // Queries: a gateway reads only its own data; unknown things are 404.
        let other = await refusal { _ = try await gateway.series(gateway: "gw-2") }
        #expect(other?.status == 403 && other?.code == .forbidden)
        let missing = await refusal { _ = try await reader.scan("nope", gateway: "gw-1") }
        #expect(missing?.status == 404 && missing?.code == .notFound)
        #expect(missing?.url.hasPrefix(node.url + "/v1/scan?series=nope&") == true)
        #expect(missing?.url.hasSuffix("&gateway=gw-1&format=csv") == true)
        let badInterval = await refusal { _ = try await reader.downsample("x", interval: 0, fn: .avg, gateway: "gw-1") }
        #expect(badInterval?.status == 400 && badInterval?.message.contains("interval") == true)

        // No node: no status, a cause, and worth another try. (The node may still finish accepting
        // while it stops: the cause is a refused connection or a timeout. HTTPTransportTests checks
        // the text of a refused one.)
        await node.stop()
        let impatient = try CloudClient(url: node.url, token: LoopbackNode.gatewayToken, timeout: .seconds(1))
        let gone = await refusal { _ = try await impatient.upload(batch) }
        #expect(gone?.status == nil && gone?.code == .transport && gone?.cause != nil && gone?.isRetryable == true)
        #expect(gone?.url == segments)
    }

    @Test func whichFailuresAreWorthRetrying() throws {
        for status in [408, 429, 500, 502, 503, 504, 507] { #expect(CloudClientError.isRetryable(status: status)) }
        for status in [400, 401, 403, 404, 405, 413, 422, 501] {
            #expect(!CloudClientError.isRetryable(status: status))
        }
        // Without a code in the body (a node from before the codes, a proxy), the status's own.
        #expect(CloudClientError.Code(status: 401) == .unauthorized)
        #expect(CloudClientError.Code(status: 502) == .internal)
        #expect(CloudClientError.Code(status: 418).rawValue == "http_418")
        #expect(throws: CloudClientError.self) { _ = try CloudClient(url: "ftp://127.0.0.1:1", token: "t") }
        do {
            _ = try CloudClient(url: "127.0.0.1:8470", token: "t")
            Issue.record("a URL without a scheme was taken")
        } catch {
            #expect(error.code == .invalidURL && error.url == "127.0.0.1:8470" && !error.isRetryable)
        }
    }
}

/// The `CloudClientError` `body` throws (nil, and an issue, if it throws nothing or something else).
func refusal(_ body: () async throws -> Void) async -> CloudClientError? {
    do {
        try await body()
        Issue.record("expected a CloudClientError")
    } catch let error as CloudClientError {
        return error
    } catch {
        Issue.record("expected a CloudClientError, got \(error)")
    }
    return nil
}
