public import Hummingbird
internal import Logging
public import ServiceLifecycle
internal import UnixSignals

extension CloudNode {
    /// Runs the node as one `ServiceGroup` until SIGTERM or SIGINT: the store first, then the HTTP
    /// listener once the store is prepared. Shutdown goes in reverse: the listener stops taking
    /// requests and finishes those in flight, then the store flushes and closes.
    /// - Parameter onListening: gets the bound port (the configuration may ask for port 0).
    /// - Throws: `CloudError` when the TLS files cannot be used or the store cannot be prepared
    ///   (the message says which); what the listener throws (an address in use).
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let listener = Listener(store: store, app: try application(onListening: onListening))
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: store),
                    .init(service: listener, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

/// The HTTP listener as a service: it waits for the store to be ready before it accepts anything.
struct Listener<App: ApplicationProtocol>: Service {
    let store: any CloudStorage
    let app: App

    func run() async throws {
        do {
            try await store.prepare()
        } catch {
            throw CloudError(.serviceUnavailable, "storage error: \(error)", cause: error)
        }
        try await app.run()
    }
}
