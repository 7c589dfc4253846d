import AliceDB
import Cloud
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import TestKit
import Testing

/// Routes, tokens and refusals of the cloud node, through Hummingbird's in-process test client:
/// the node's own router and handlers over an embedded store in a temp directory, no process and
/// no socket. What needs a real socket (malformed HTTP, header limits) and PostgreSQL stays in
/// `CloudNodeTests`.
@Suite struct CloudRouteTests {
    /// The node `CloudFixture.config` describes, over an embedded store under `dir`.
    static func node(_ dir: TempDirectory, maxBody: String = "64KiB") throws -> CloudNode {
        let text = CloudFixture.config(maxBody: maxBody)(dir.path + "/data", "127.0.0.1:0")
        let config = try CloudConfig.parse(text, file: "cloud.toml")
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        return CloudNode(config: config, store: try config.makeStorage(logger: logger), logger: logger)
    }

    static func bearer(_ token: String?) -> HTTPFields {
        guard let token else { return [:] }
        return [.authorization: "Bearer \(token)"]
    }

    /// The `error` text of a refusal's JSON body, or nil when the body is not that.
    static func errorText(_ response: TestResponse) -> String? {
        CloudFixture.json(String(buffer: response.body))["error"] as? String
    }

    @Test func healthAndMetricsNeedNoToken() async throws {
        let dir = TempDirectory()
        try await Self.node(dir).application().test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("# TYPE alicedb_cloud_unauthorized_total counter"))
            }
        }
    }

    @Test func tokensDecideWhoReadsWhat() async throws {
        let dir = TempDirectory()
        try await Self.node(dir).application().test(.router) { client in
            try await client.execute(uri: "/v1/gateways", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
                #expect(Self.errorText(response)?.contains("bearer token is required") == true)
            }
            let cases: [(String, HTTPFields, HTTPResponse.Status)] = [
                ("an unknown token", Self.bearer("not-a-token-at-all"), .unauthorized),
                ("another scheme", [.authorization: "Basic Z3c6c2VjcmV0"], .unauthorized),
                ("an empty bearer", [.authorization: "Bearer "], .unauthorized),
                ("the reader", Self.bearer(CloudFixture.readerToken), .ok),
                ("a gateway, its own list", Self.bearer(CloudFixture.gatewayToken), .ok),
            ]
            for (what, headers, status) in cases {
                try await client.execute(uri: "/v1/gateways", method: .get, headers: headers) { response in
                    #expect(response.status == status, "\(what): \(String(buffer: response.body))")
                }
            }
            // A gateway reads only its own data; a reader may not upload.
            let other = "/v1/scan?gateway=gw-1&series=boiler.temp"
            try await client.execute(uri: other, method: .get, headers: Self.bearer(CloudFixture.otherToken)) {
                #expect($0.status == .forbidden)
                #expect(Self.errorText($0)?.contains("only its own data") == true)
            }
            let upload = try await client.execute(
                uri: "/v1/segments", method: .post, headers: Self.bearer(CloudFixture.readerToken),
                body: ByteBuffer(string: "x"))
            #expect(upload.status == .forbidden)
            // The refusals are counted: three 401s without a known token above, plus the first.
            try await client.execute(uri: "/metrics", method: .get) {
                #expect(String(buffer: $0.body).contains("alicedb_cloud_unauthorized_total 4"))
            }
        }
    }

    @Test func badParametersAre400AndUnknownThings404() async throws {
        let dir = TempDirectory()
        let reader = Self.bearer(CloudFixture.readerToken)
        try await Self.node(dir).application().test(.router) { client in
            let batches = try CloudFixture.batches(in: dir.path + "/gw", points: 2000)
            let stored = try await client.execute(
                uri: "/v1/segments", method: .post, headers: Self.bearer(CloudFixture.gatewayToken),
                body: ByteBuffer(bytes: batches[0].body))
            #expect(stored.status == .ok, "\(String(buffer: stored.body))")
            let cases: [(String, HTTPResponse.Status)] = [
                ("/v1/scan?gateway=gw-1&series=boiler.temp", .ok),
                ("/v1/scan?gateway=gw-1&series=boiler.temp&from=x", .badRequest),
                ("/v1/scan?gateway=gw-1", .badRequest),  // no series
                ("/v1/downsample?gateway=gw-1&series=boiler.temp&interval=0", .badRequest),
                // More buckets than a page: `to - from` overflowed and let them all through.
                ("/v1/downsample?gateway=gw-1&series=boiler.temp&interval=1&from=-9223372036854775808", .badRequest),
                ("/api/v1/query_range?query=histogram_quantile(0.9,up)&start=0&end=1&step=1", .badRequest),
                ("/v1/scan?gateway=gw-9&series=x", .notFound),
                ("/v1/scan?gateway=..%2Fetc&series=x", .notFound),
                ("/v1/scan?gateway=gw-1&series=nope", .notFound),
                ("/v1/no-such-route", .notFound),
            ]
            for (uri, status) in cases {
                try await client.execute(uri: uri, method: .get, headers: reader) { response in
                    #expect(response.status == status, "\(uri): \(String(buffer: response.body).prefix(200))")
                    if status == .badRequest, !uri.hasPrefix("/api/") {
                        #expect(Self.errorText(response) != nil, "\(uri): \(String(buffer: response.body))")
                    }
                }
            }
            // The Prometheus API answers in its own error shape.
            try await client.execute(uri: "/api/v1/series", method: .get, headers: reader) { response in
                #expect(response.status == .badRequest)
                #expect(CloudFixture.json(String(buffer: response.body))["errorType"] as? String == "bad_data")
            }
        }
    }

    @Test func uploadsThatAreNotBatchesGetAClear4xx() async throws {
        let dir = TempDirectory()
        let gateway = Self.bearer(CloudFixture.gatewayToken)
        try await Self.node(dir, maxBody: "64KiB").application().test(.router) { client in
            let good = try CloudFixture.batches(in: dir.path + "/gw", points: 2000, maxBytes: 32 << 10)[0].body
            var damaged = good
            damaged[damaged.count / 2] ^= 0x40
            let cases: [(String, [UInt8], HTTPResponse.Status)] = [
                ("JSON", Array("{\"points\": [1, 2, 3]}".utf8), .badRequest),
                ("an empty body", [], .badRequest),
                ("a damaged batch", damaged, .badRequest),
                ("a truncated batch", Array(good.prefix(good.count - 9)), .badRequest),
                ("random bytes", (0..<4096).map { _ in UInt8.random(in: 0...255) }, .badRequest),
                ("more than max_body", [UInt8](repeating: 65, count: 65 << 10), .contentTooLarge),
            ]
            for (what, body, status) in cases {
                try await client.execute(
                    uri: "/v1/segments", method: .post, headers: gateway, body: ByteBuffer(bytes: body)
                ) { response in
                    #expect(response.status == status, "\(what): \(String(buffer: response.body))")
                    #expect(Self.errorText(response) != nil, "\(what): \(String(buffer: response.body))")
                }
            }
            // Nothing of that was stored; the good batch is, once, however often it comes.
            for _ in 0..<2 {
                try await client.execute(
                    uri: "/v1/segments", method: .post, headers: gateway, body: ByteBuffer(bytes: good)
                ) {
                    #expect($0.status == .ok, "\(String(buffer: $0.body))")
                }
            }
            try await client.execute(
                uri: "/v1/gateways", method: .get, headers: Self.bearer(CloudFixture.readerToken)
            ) { response in
                let list = CloudFixture.json(String(buffer: response.body))["gateways"] as? [[String: Any]]
                #expect(list?.count == 1 && list?.first?["name"] as? String == "gw-1")
            }
        }
    }

    /// A batch naming a format feature the node cannot read: 422 `unsupported_features` naming it,
    /// nothing stored; the same batch with features the node reads is stored.
    @Test func aBatchWithFeaturesTheNodeCannotReadIsRefusedWhole() async throws {
        let dir = TempDirectory()
        let gateway = Self.bearer(CloudFixture.gatewayToken)
        try await Self.node(dir).application().test(.router) { client in
            let batch = try CloudFixture.batches(in: dir.path + "/gw", points: 2000, maxBytes: 32 << 10)[0].decoded()
            let features = FormatFeatures.of(segments: batch.entries.map(\.segment))
            var refused = gateway
            refused[HTTPField.Name("X-AliceDB-Features")!] = (features + ["model:tans-v9", "timestamps:\u{1}evil"])
                .joined(
                    separator: ",")
            try await client.execute(
                uri: "/v1/segments", method: .post, headers: refused, body: ByteBuffer(bytes: batch.encode())
            ) { response in
                #expect(response.status == .unprocessableContent)
                let body = CloudFixture.json(String(buffer: response.body))
                #expect(body["code"] as? String == "unsupported_features")
                #expect(body["features"] as? [String] == ["model:tans-v9", "timestamps:evil"])
                #expect((body["error"] as? String)?.contains("model:tans-v9, timestamps:evil: upgrade it") == true)
            }
            try await client.execute(
                uri: "/v1/gateways", method: .get, headers: Self.bearer(CloudFixture.readerToken)
            ) { response in
                let list = CloudFixture.json(String(buffer: response.body))["gateways"] as? [[String: Any]]
                #expect(list?.isEmpty == true, "\(String(buffer: response.body))")
            }
            var accepted = gateway
            accepted[HTTPField.Name("X-AliceDB-Features")!] = features.joined(separator: ",")
            try await client.execute(
                uri: "/v1/segments", method: .post, headers: accepted, body: ByteBuffer(bytes: batch.encode())
            ) {
                #expect($0.status == .ok, "\(String(buffer: $0.body))")
            }
        }
    }
}
