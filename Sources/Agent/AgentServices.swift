internal import AliceDB
internal import Dispatch
internal import Logging
internal import ServiceLifecycle
internal import Synchronization
internal import UnixSignals

// The agent's services (`Agent.run` starts them): each holds what it needs (the database, the
// uplink, or a call into the agent) and nothing more.

/// MQTT in, points to the engine: until a graceful shutdown, then every waiting point is flushed.
struct IntakeService: Service {
    let agent: Agent

    func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await agent.startIntake()
            group.addTask {
                // Start-up is over after a few seconds: let its code pages go (see ProcessMemory).
                try? await Task.sleep(for: .seconds(3))
                await agent.releaseStartupPages()
            }
            group.addTask {
                for await _ in agent.flushRequests {
                    try? await Task.sleep(for: .milliseconds(Agent.flushMillis))
                    await agent.scheduledFlush()
                }
            }
            group.addTask {
                try? await gracefulShutdown()
                await agent.stopIntake()
            }
            await agent.ingest()
            try await agent.finishIntake()
            group.cancelAll()
        }
    }
}

/// The engine's periodic work (`Database.maintain()`: WAL group commit, age-based flushes,
/// retention, compaction) every `maintenanceInterval`, until a graceful shutdown; every 10 s it
/// also returns the heap's free pages to the kernel and unmaps idle code (`ProcessMemory`).
struct MaintenanceService: Service {
    let db: Database
    let logger: Logger
    /// Recompression and merge steps run here, never on the loop that commits the WAL: a merge of
    /// a long run takes a while on a slow core, and acknowledged points wait for the group commit.
    private let rewrites = DispatchQueue(label: "alicedb-agent.rewrite", qos: .utility)
    private let rewriting = Busy()

    final class Busy: Sendable {
        let flag = Atomic<Bool>(false)
    }

    init(db: Database, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    /// Starts a rewrite step unless one runs (it is paced inside: at most one a second).
    private func rewrite() {
        guard rewriting.flag.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            return
        }
        rewrites.async { [db, logger, rewriting] in
            defer { rewriting.flag.store(false, ordering: .releasing) }
            do { try db.rewriteIfDue() } catch {
                logger.error("recompression or merge failed", metadata: ["error": "\(error)"])
            }
        }
    }

    func run() async throws {
        let interval = db.options.maintenanceInterval
        var next = ContinuousClock.now + interval
        var trimmed = ContinuousClock.now
        while true {
            let wake = next
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(until: wake, clock: .continuous) } } catch
            {
                rewrites.sync {}  // a step under way ends before the database closes
                return  // shut down (or cancelled)
            }
            do { try db.maintainWrites() } catch {
                logger.error("maintenance failed", metadata: ["error": "\(error)"])
            }
            rewrite()
            if ContinuousClock.now - trimmed >= .seconds(10) {
                ProcessMemory.returnFreePages()
                ProcessMemory.unmapIdleCode()
                trimmed = ContinuousClock.now
            }
            next = max(next + interval, ContinuousClock.now)
        }
    }
}

/// Ships segments until a graceful shutdown; then ships what intake flushed, within 2 s.
struct UplinkService: Service {
    let uplink: Uplink

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await uplink.run() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await uplink.drain(seconds: 2)
        await uplink.shutdown()
    }
}

/// SIGHUP: the subscriptions and mappings of a fresh configuration; buffered points stay.
struct ReloadService: Service {
    /// Reads the new configuration.
    let load: @Sendable () throws -> AgentConfig
    /// Applies it (`Agent.reload`).
    let apply: @Sendable (AgentConfig) async throws -> Void
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            do { try await apply(try load()) } catch {
                logger.error("reload refused; keeping the running configuration", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Checks the database's disk status four times a second, so that intake resumes when there is
/// room again even while no message arrives (paused, none can).
struct DiskBudgetService: Service {
    /// Pauses or resumes intake as the disk status asks (`Agent.checkDiskStatus`).
    let check: @Sendable () async -> Void

    func run() async throws {
        while !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(250)) }
            } catch {
                return  // shut down (or cancelled)
            }
            await check()
        }
    }
}

/// The stall check, every second on `ContinuousClock`, until a graceful shutdown.
struct LivenessService: Service {
    /// One round of the stall check (`Agent.checkLiveness`).
    let check: @Sendable () async -> Void
    static let interval = Duration.seconds(1)

    func run() async throws {
        var next = ContinuousClock.now + Self.interval
        while true {
            let wake = next
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(until: wake, clock: .continuous) } } catch
            {
                return  // shut down (or cancelled)
            }
            await check()
            next = max(next + Self.interval, ContinuousClock.now)
        }
    }
}
