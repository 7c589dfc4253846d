public import AliceDB
internal import CloudClient
public import Logging
internal import NIOCore

/// Counters of the uplink, for /metrics.
public struct UplinkCounters: Sendable {
    public var batches = 0
    public var bytesSent = 0
    public var segmentsSent = 0
    /// Segments the cloud node already had (a batch re-sent after a lost acknowledgement).
    public var duplicates = 0
    /// Segments the cloud node refused (logged with its reason; not sent again).
    public var rejected = 0
    public var failures = 0
    public var lastError: String? = nil
    public var lastErrorMillis: Int64? = nil
    public var lastSuccessMillis: Int64? = nil
    /// `[uplink]` settings applied by SIGHUP.
    public var reloads = 0
    /// Format features the cloud node said it cannot read (it refused the batch; the segments wait
    /// for its upgrade); empty once a batch is accepted.
    public var unsupportedFeatures: [String] = []
}

/// Ships the database's outbox to the cloud node: one batch at a time, in order; the persisted
/// cursor moves only after the node has answered 200 for the batch (it stores a batch before it
/// answers, and stores a segment it already holds once), so a kill at any moment loses nothing
/// and stores nothing twice. Failures are retried with exponential backoff and full jitter.
/// The HTTP half (the request, the acknowledgement, the node's errors) is `CloudClient`'s.
public actor Uplink {
    let db: Database
    private(set) var options: UplinkOptions
    let logger: Logger
    var client: CloudClient
    /// The client a reload replaced: an upload may still be on it; shut down at the next step.
    private var retired: CloudClient?
    public private(set) var counters = UplinkCounters()
    private var failuresInARow = 0
    /// Bytes per batch now: halved after each 413 (the node's max_body is smaller than
    /// batch_bytes), down to a single frame; kept until the agent restarts.
    private var batchLimit: Int?
    private var lastLoggedFailure: UInt64 = 0

    public init(db: Database, options: UplinkOptions, logger: Logger) throws {
        self.db = db
        self.options = options
        self.logger = logger
        client = try Uplink.client(options)
    }

    static func client(_ options: UplinkOptions) throws -> CloudClient {
        do {
            return try CloudClient(
                url: options.url, token: options.token,
                tls: .init(
                    caFile: options.caFile, certFile: options.certFile, keyFile: options.keyFile,
                    insecure: options.tlsInsecure),
                timeout: .milliseconds(Int64(options.timeoutSeconds * 1000)), eventLoopGroup: Uplink.group)
        } catch {
            throw AliceDBError(.invalidArgument, "uplink: \(error)")
        }
    }

    /// A reloaded `[uplink]` (SIGHUP): its settings apply from the next batch on; a new address,
    /// token, TLS file or timeout gets a new HTTP client. The cursor is the database's, so nothing
    /// is skipped or sent twice; a batch in flight on the old client finishes there.
    /// - Throws: `AliceDBError` when the new client cannot be made (a TLS file that does not load);
    ///   the running settings stay.
    public func reconfigure(_ new: UplinkOptions) async throws {
        guard new != options else { return }
        var connection = new
        (connection.batchBytes, connection.maxBandwidth, connection.intervalSeconds) =
            (options.batchBytes, options.maxBandwidth, options.intervalSeconds)
        (connection.retryMin, connection.retryMax) = (options.retryMin, options.retryMax)
        if connection != options {
            let fresh = try Uplink.client(new)
            if let older = retired { await older.shutdown() }
            retired = client
            client = fresh
        }
        if new.batchBytes != options.batchBytes { batchLimit = nil }
        options = new
        failuresInARow = 0
        counters.reloads += 1
        logger.info("uplink settings reloaded", metadata: ["url": "\(new.segmentsURL)"])
    }

    /// One event-loop thread shared with the agent's HTTP listener.
    static var group: any EventLoopGroup { MetricsServer.group }

    /// Ships until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            let delay = await step()
            if delay > 0 { try? await Task.sleep(for: .milliseconds(Int64(delay * 1000))) }
        }
    }

    /// Ships what the outbox holds until it is empty or `seconds` have passed (at shutdown).
    public func drain(seconds: Double) async {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            guard let lag = try? db.uplinkLag(), lag.bytes > 0 else { return }
            let attempt = Task { await self.step() }
            let watchdog = Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                attempt.cancel()
            }
            let delay = await attempt.value
            watchdog.cancel()
            if delay > 0 { return }  // a failure: what is left goes at the next start
        }
    }

    public func shutdown() async {
        await client.shutdown()
        await retireOldClient()
    }

    private func retireOldClient() async {
        guard let older = retired else { return }
        retired = nil
        await older.shutdown()
    }

    /// Sends the next batch; returns how long to wait before the next step.
    func step() async -> Double {
        await retireOldClient()  // no upload is on it any more: steps do not overlap
        let batch: OutboxBatch
        do {
            batch = try db.outbox(maxBytes: batchLimit ?? options.batchBytes)
            if batch.isEmpty {
                try db.acknowledge(batch)  // only notes that the outbox is empty
                return options.intervalSeconds
            }
        } catch {
            logger.error("reading the outbox failed", metadata: ["error": "\(error)"])
            return failed("outbox: \(error)", retryAfter: nil)
        }
        let body = batch.body
        let started = ContinuousClock.now
        let report: CloudClient.UploadAck
        let features = batch.features
        do throws(CloudClientError) {
            report = try await client.upload(body, features: features)
        } catch {
            if error.code == .unsupportedFeatures {
                if error.features != counters.unsupportedFeatures {
                    logger.error(
                        "the cloud node cannot read these segments' format features; they stay here and go once it is upgraded",
                        metadata: [
                            "features": "\(error.features.joined(separator: ","))", "answer": "\(error.message)",
                        ])
                }
                counters.unsupportedFeatures = error.features
            } else if error.status == 413 {
                let smaller = max(1024, (batchLimit ?? options.batchBytes) / 2)
                if smaller != batchLimit {
                    logger.warning(
                        "the cloud node refused the batch size; sending smaller batches",
                        metadata: ["batch_bytes": "\(smaller)"])
                }
                batchLimit = smaller
            } else if error.status == 401 || error.status == 403 {
                logger.error("the cloud node refused the token", metadata: ["answer": "\(error)"])
            } else if !error.isRetryable {
                // Sent again all the same (the node may be fixed meanwhile), but not by waiting alone.
                logger.error("the cloud node refused the batch", metadata: ["answer": "\(error)"])
            }
            return failed("\(error)", retryAfter: error.retryAfter)
        }
        do {
            try db.acknowledge(batch)
        } catch {
            // Stored upstream but the cursor did not move: the batch goes again and is found there.
            logger.error("persisting the uplink cursor failed", metadata: ["error": "\(error)"])
            return failed("cursor: \(error)", retryAfter: nil)
        }
        counters.batches += 1
        counters.bytesSent += body.count
        counters.segmentsSent += batch.segments
        counters.duplicates += report.duplicates
        counters.rejected += report.rejected.count
        counters.lastSuccessMillis = FileIO.wallMillis()
        if !counters.unsupportedFeatures.isEmpty {
            logger.info("the cloud node reads these segments now", metadata: ["features": "\(features)"])
            counters.unsupportedFeatures = []
        }
        if let first = report.rejected.first {
            logger.error(
                "the cloud node refused segments (they stay here, and are not sent again)",
                metadata: ["count": "\(report.rejected.count)", "first": "\(first.reason)"])
        }
        if failuresInARow > 0 { logger.info("uplink recovered", metadata: ["after_failures": "\(failuresInARow)"]) }
        failuresInARow = 0
        // The bandwidth cap: this batch's bytes take at least bytes ÷ cap seconds.
        guard let cap = options.maxBandwidth, cap > 0 else { return 0 }
        return max(0, Double(body.count) / Double(cap) - (ContinuousClock.now - started).inSeconds)
    }

    /// Counts a failure and returns the delay before the next try: exponential from `retryMin`
    /// to `retryMax` with full jitter (half to all of it), or the node's Retry-After.
    private func failed(_ reason: String, retryAfter: Double?) -> Double {
        counters.failures += 1
        counters.lastError = reason
        counters.lastErrorMillis = FileIO.wallMillis()
        failuresInARow += 1
        let now = FileIO.monotonicNanos()
        if failuresInARow == 1 || now &- lastLoggedFailure > 60_000_000_000 {
            lastLoggedFailure = now
            logger.warning(
                "uplink failed; retrying", metadata: ["reason": "\(reason)", "failures_in_a_row": "\(failuresInARow)"])
        }
        if let retryAfter, retryAfter > 0 { return min(retryAfter, 3600) }
        let exp = options.retryMin * Double(1 << min(failuresInARow - 1, 20))
        let delay = min(options.retryMax, exp)
        return delay * Double.random(in: 0.5...1.0)
    }
}
