internal import FoundationEssentials
internal import NIOCore
internal import NIOHTTP1

extension CloudClient {
    /// The node's answer to a batch:
    /// `{"stored": n, "duplicates": n, "points": n, "rejected": [{"index": i, "reason": "…"}]}`.
    public struct UploadAck: Decodable, Sendable, Equatable {
        /// A segment the node refused, by its index in the batch, and why.
        public struct Rejected: Decodable, Sendable, Equatable {
            public var index: Int
            public var reason: String
        }

        /// Segments stored now.
        public var stored = 0
        /// Segments the node already had (a batch sent again after a lost acknowledgement).
        public var duplicates = 0
        /// Points in the segments stored now.
        public var points = 0
        public var rejected: [Rejected] = []

        public init(stored: Int = 0, duplicates: Int = 0, points: Int = 0, rejected: [Rejected] = []) {
            self.stored = stored
            self.duplicates = duplicates
            self.points = points
            self.rejected = rejected
        }
    }

    /// Posts one batch (the segment batch format) to `/v1/segments`, with a gateway's token.
    ///
    /// A 200 means the node has stored the batch: it stores before it answers, and stores a
    /// segment it already holds once, so sending a batch again after any failure is safe.
    /// - Parameters:
    ///   - batch: an encoded `SegmentBatch`.
    ///   - features: the format features its segments use (`FormatFeatures.of(segments:)`), sent
    ///     as `X-AliceDB-Features`; a node that cannot read one refuses the whole batch.
    /// - Returns: what the node stored, already had and refused. An acknowledgement whose body
    ///   cannot be read counts as empty rather than as a failure: the batch is stored all the same.
    /// - Throws: `CloudClientError`: the node's refusal (413: the batch is larger than its
    ///   `max_body`; 401/403: the token; 422 `unsupported_features`: an older node), or
    ///   `.transport` when it did not answer.
    public func upload(_ batch: [UInt8], features: [String] = []) async throws(CloudClientError) -> UploadAck {
        let answer = try await call(
            .POST, "/v1/segments", body: batch, contentType: "application/vnd.alicedb.segments",
            headers: features.isEmpty ? [] : [("X-AliceDB-Features", features.joined(separator: ","))],
            maxBytes: 1 << 20)
        return (try? JSONDecoder().decode(UploadAck.self, from: Data(answer.body.readableBytesView))) ?? UploadAck()
    }
}
