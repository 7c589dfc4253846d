/// Exact topic → its `Route`, worked out once per topic: topics repeat, and matching every filter
/// and expanding series templates per message would cost more than the rest of the ingest.
///
/// Bounded: past `capacity` topics it starts over, so that a flood of distinct topics cannot grow
/// the agent's memory without limit.
struct RouteCache {
    static let capacity = 8192  // ~150 B each: a topic flood cannot take more than ~1.2 MiB
    private var routes: [String: Route] = [:]

    /// The route of `topic` under `subscriptions` (which must not change without a `clear`).
    mutating func route(_ topic: String, _ subscriptions: [Subscription]) -> Route {
        if let r = routes[topic] { return r }
        let route = Route(topic: topic, subscriptions: subscriptions)
        if routes.count >= RouteCache.capacity { routes.removeAll(keepingCapacity: true) }
        routes[topic] = route
        return route
    }

    /// Forgets every route (the subscriptions changed).
    mutating func clear() { routes.removeAll() }
}
