/// One subscription's traffic and stall state, keyed by its topic filter (`Agent.subscriptionStats()`).
///
/// A message counts for every subscription whose filter matches its topic (the first of them maps
/// it to series).
public struct SubscriptionStats: Sendable, Hashable {
    /// The topic filter (`[[subscribe]] topic`).
    public var filter: String
    /// Messages received since the filter is watched, retained replays included.
    public var messages: Int
    /// Time since the last message that was not a retained replay (to within the 1 s check); nil
    /// before the first.
    public var lastMessageAge: Duration?
    /// Time since the agent began to watch the filter (its start, or the reload that added it).
    public var watchedFor: Duration
    /// Messages per second over about the last minute (exponentially weighted, time constant 60 s).
    public var messagesPerSecond: Double
    /// The subscription's `stall_timeout`; nil when it is never checked.
    public var stallTimeout: Duration?
    /// The stall check has acted (resubscribed, maybe reconnected) and no message has come since.
    public var stalled: Bool
    /// The broker refused the latest SUBSCRIBE of this filter (an ACL, most often).
    public var refused: Bool
    /// SUBSCRIBEs the stall check sent again for this filter.
    public var resubscribes: Int
    /// Reconnects the stall check forced because this filter stayed silent after its resubscribe.
    public var stallReconnects: Int

    /// Time since the last message or, before the first, since the filter is watched.
    public var silence: Duration { lastMessageAge ?? watchedFor }
}

/// What the broker connection's liveness handling has done since the agent started.
public struct LivenessCounters: Sendable, Hashable {
    /// SUBSCRIBEs the stall check sent again (one per filter and round).
    public var stallResubscribes = 0
    /// Subscriptions sent again because a reconnect found no session at the broker (a clean session,
    /// or the broker lost ours), one per filter and reconnect.
    public var sessionResubscribes = 0
    /// Connections the stall check renewed.
    public var stallReconnects = 0
    /// Reconnects where the broker had lost the persistent session (`clean_session = false`) it kept
    /// for the agent, and with it the messages it had queued.
    public var sessionsLost = 0
    /// SUBSCRIBEs the broker refused.
    public var refusals = 0
    /// The CONNACK session-present flag of the latest connection (nil before the first).
    public var sessionPresent: Bool?
}
