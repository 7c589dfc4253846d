internal import AliceDB
internal import Logging
internal import NIOSSL
internal import PostgresNIO
internal import Synchronization

/// The connection-pool handle the PostgreSQL store's parts share (`PostgresStorage`, its tokens,
/// its ingest, its segment reads): every call goes through `run(_:_:)`, which gives it a deadline,
/// retries what PostgreSQL asks to retry, turns errors into `AliceDBError`s and fails fast while
/// the database is known to be down.
final class PostgresPool: Sendable {
    let settings: PostgresSettings
    let client: PostgresClient
    let logger: Logger
    /// Finished when `run()` starts the pool.
    private let running: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)
    /// While the database is unreachable, calls fail at once (503) instead of each waiting for
    /// `query_timeout`; one call a second tries again.
    private let outage = Mutex<(until: ContinuousClock.Instant, reason: String)?>(nil)
    static let retryAfterOutage = Duration.seconds(1)

    /// A pool for the database `settings` names; nothing connects until `run()`.
    init(_ settings: PostgresSettings, logger: Logger) {
        var config = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: settings.database, tls: Self.tls(settings.tls))
        config.options.maximumConnections = settings.poolSize
        config.options.minimumConnections = 0
        config.options.connectTimeout = .milliseconds(Int64(settings.connectTimeoutSeconds * 1000))
        config.options.keepAliveBehavior = .init(frequency: .seconds(30))
        self.settings = settings
        self.client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.logger = logger
        running = AsyncStream.makeStream()
    }

    /// Runs the connection pool until the task is cancelled, then closes its connections.
    func run() async {
        running.continuation.finish()
        await client.run()
    }

    /// Returns once `run()` has begun (leasing before the pool runs works but logs a warning).
    func started() async {
        for await _ in running.stream {}
    }

    static func tls(_ mode: PostgresSettings.TLSMode) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    // MARK: Calls with a deadline and one error type

    /// Runs `body` against the database within `query_timeout`, retrying a deadlock or a
    /// serialization failure twice; errors become `AliceDBError`s.
    func run<T: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> T) async throws(AliceDBError)
        -> T
    {
        if let reason = currentOutage() { throw AliceDBError(.unavailable, reason) }
        var attempt = 0
        while true {
            attempt += 1
            do {
                let value = try await withDeadline(settings.queryTimeoutSeconds, what, body)
                noteReachable()
                return value
            } catch {
                let e = PostgresPool.classify(error, what)
                if e.retry && attempt < 3 { continue }
                if e.error.code == .unavailable { noteOutage(e.error.message) }
                throw e.error
            }
        }
    }

    /// The reason calls fail now, during an outage; nil for the call that may try the database
    /// (none during an outage but one a second, the others failing fast while it tries).
    private func currentOutage() -> String? {
        let probing =
            Duration.milliseconds(Int64(settings.queryTimeoutSeconds * 1000)) + PostgresPool.retryAfterOutage
        return outage.withLock { o in
            guard let current = o else { return nil }
            if ContinuousClock.now < current.until { return current.reason }
            o = (ContinuousClock.now + probing, current.reason)
            return nil
        }
    }

    private func noteReachable() {
        let wasDown = outage.withLock { o in
            defer { o = nil }
            return o != nil
        }
        if wasDown { logger.notice("PostgreSQL reachable again") }
    }

    private func noteOutage(_ reason: String) {
        let first = outage.withLock { o in
            let first = o == nil
            o = (ContinuousClock.now + PostgresPool.retryAfterOutage, reason)
            return first
        }
        if first { logger.error("PostgreSQL unavailable", metadata: ["reason": "\(reason)"]) }
    }

    private func withDeadline<T: Sendable>(
        _ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                throw AliceDBError(.unavailable, "PostgreSQL did not answer \(what) within \(seconds) s")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// What an error from PostgresNIO means here: unreachable (503, retry later), a transaction to
    /// retry now, or a fault.
    static func classify(_ error: any Error, _ what: String) -> (error: AliceDBError, retry: Bool) {
        if let e = error as? AliceDBError { return (e, false) }
        if let t = error as? PostgresTransactionError {
            if let inner = t.closureError ?? t.commitError ?? t.beginError { return classify(inner, what) }
        }
        guard let p = error as? PSQLError else {
            if error is CancellationError { return (AliceDBError(.unavailable, "\(what): cancelled"), false) }
            return (AliceDBError(.unavailable, "PostgreSQL \(what): \(error)", cause: error), false)
        }
        guard let state = p.serverInfo?[.sqlState] else {
            // No answer from a server: refused, dropped, timed out, the pool closed.
            let cause = p.underlying.map { ": \($0)" } ?? ""
            return (
                AliceDBError(.unavailable, "PostgreSQL unreachable during \(what) (\(p.code)\(cause))", cause: p), false
            )
        }
        let message = p.serverInfo?[.message] ?? "\(p.code)"
        if state == "40P01" || state == "40001" { return (AliceDBError(.io, "\(what): \(message)", cause: p), true) }
        // 08: connection exceptions; 57P: shutting down or starting; 53: out of resources.
        if state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53") {
            return (AliceDBError(.unavailable, "PostgreSQL \(what): \(message) (\(state))", cause: p), false)
        }
        return (AliceDBError(.io, "PostgreSQL \(what): \(message) (SQLSTATE \(state))", cause: p), false)
    }

    /// Nil when the database answers a trivial query soon; otherwise why not.
    func problem() async -> String? {
        if let reason = currentOutage() { return reason }
        do {
            let client = self.client
            _ = try await withDeadline(min(2, settings.queryTimeoutSeconds), "the health check") {
                try await client.query("SELECT 1").collect()
            }
            noteReachable()
            return nil
        } catch {
            let e = PostgresPool.classify(error, "the health check").error
            noteOutage(e.message)
            return e.message
        }
    }
}
