internal import AliceDB
internal import Logging
internal import ServiceLifecycle
internal import UnixSignals

/// The agent's services, started in this order and shut down in reverse: the stall check first,
/// then intake (stop the MQTT session, hand every waiting point to the engine, flush), then the
/// uplink (a last try to ship within its deadline), then the engine's maintenance, SIGHUP handling
/// and the HTTP listener.
extension Agent {
    /// Runs the services until a graceful shutdown (`stop()`, or SIGTERM/SIGINT when `signals`),
    /// then closes the database.
    /// - Parameters:
    ///   - reload: where a SIGHUP takes the new configuration from (none: SIGHUP is not trapped).
    ///   - onListening: called with the HTTP listener's port once it is bound (`[http] listen` may
    ///     ask for port 0: chosen by the system).
    public func run(
        signals: Bool = false, reload: (@Sendable () throws -> AgentConfig)? = nil,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        var services = [ServiceGroupConfiguration.ServiceConfiguration]()
        if let (host, port) = config.http {
            let server = MetricsServer(host: host, port: port, agent: self, logger: logger, onListening: onListening)
            services.append(.init(service: HTTPService(server: server)))
        }
        if let reload { services.append(.init(service: ReloadService(agent: self, load: reload, logger: logger))) }
        services.append(.init(service: MaintenanceService(db: db, logger: logger)))
        services.append(.init(service: DiskBudgetService(agent: self)))
        if let uplink { services.append(.init(service: UplinkService(uplink: uplink))) }
        // Intake ending on its own (its session gone) shuts the rest down gracefully as well.
        services.append(
            .init(service: IntakeService(agent: self), successTerminationBehavior: .gracefullyShutdownGroup))
        services.append(.init(service: LivenessService(agent: self)))
        var configuration = ServiceGroupConfiguration(services: services, logger: logger)
        configuration.gracefulShutdownSignals = signals ? [.sigterm, .sigint] : []
        let group = ServiceGroup(configuration: configuration)
        self.group = group
        if stopRequested { await group.triggerGracefulShutdown() }
        try await group.run()
        self.group = nil
        try db.close()
        logger.info("agent stopped; every point is in segments", metadata: ["points": "\(counters.points)"])
    }

    /// Shuts the services down gracefully; `run` then returns.
    public func stop() async {
        stopRequested = true
        await group?.triggerGracefulShutdown()
    }
}

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
/// retention, compaction) every `maintenanceInterval`, until a graceful shutdown.
struct MaintenanceService: Service {
    let db: Database
    let logger: Logger

    func run() async throws {
        let interval = db.options.maintenanceInterval
        var next = ContinuousClock.now + interval
        while true {
            let wake = next
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(until: wake, clock: .continuous) } } catch
            {
                return  // shut down (or cancelled)
            }
            do { try db.maintain() } catch {
                logger.error("maintenance failed", metadata: ["error": "\(error)"])
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

/// The loopback HTTP listener (/healthz, /metrics), closed last.
struct HTTPService: Service {
    let server: MetricsServer

    func run() async throws {
        do { try await cancelWhenGracefulShutdown { try await server.run() } } catch is CancellationError {}
    }
}

/// SIGHUP: the subscriptions and mappings of a fresh configuration; buffered points stay.
struct ReloadService: Service {
    let agent: Agent
    let load: @Sendable () throws -> AgentConfig
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            do { try await agent.reload(try load()) } catch {
                logger.error("reload refused; keeping the running configuration", metadata: ["error": "\(error)"])
            }
        }
    }
}
