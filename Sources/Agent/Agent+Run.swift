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
            let server = MetricsServer(
                host: host, port: port, endpoints: endpoints, idleTimeout: config.httpIdleTimeout, logger: logger,
                onListening: { port in
                    await self.listening(onPort: port)
                    await onListening(port)
                })
            services.append(.init(service: server))
        }
        if let reload {
            services.append(
                .init(service: ReloadService(load: reload, apply: { try await self.reload($0) }, logger: logger)))
        }
        services.append(.init(service: MaintenanceService(db: db, logger: logger)))
        services.append(.init(service: DiskBudgetService(check: { await self.checkDiskStatus() })))
        if let uplink { services.append(.init(service: UplinkService(uplink: uplink))) }
        // Intake ending on its own (its session gone) shuts the rest down gracefully as well.
        services.append(
            .init(service: IntakeService(agent: self), successTerminationBehavior: .gracefullyShutdownGroup))
        services.append(.init(service: LivenessService(check: { await self.checkLiveness() })))
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
