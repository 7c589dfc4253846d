#if canImport(Glibc)
    internal import Glibc
#endif

/// Per-subscription traffic and the stall check of `stall_timeout`: the state, without clocks,
/// logging or MQTT (the agent feeds it instants and acts on what it returns).
///
/// A subscription whose `stall_timeout` passes without a message while the agent is connected is
/// subscribed again; if another `stall_timeout` passes in silence, the connection is renewed. Then
/// the next round waits twice as long (at most `maxWait`, or the timeout itself if longer), so a
/// topic that is merely quiet costs a resubscribe and a reconnect per hour at most. A message ends
/// the stall and the back-off. Retained messages do not count: the broker replays them on every
/// SUBSCRIBE, so they would prove nothing about the live stream.
struct Liveness {
    /// One topic filter's counts and stall state (filters that repeat in the configuration share one).
    struct Watch {
        let filter: String
        /// nil: never checked (`stall_timeout = 0`).
        var timeout: Duration?
        /// Since when the filter is watched (start-up, or the reload that added it).
        let created: ContinuousClock.Instant
        /// Messages whose topic matches, retained replays included, and those that were not replays.
        var messages = 0
        var live = 0
        /// `messages` and `live` at the last `observe`.
        var observedMessages = 0
        var observedLive = 0
        /// When `observe` first saw the latest live message (within one check interval of its arrival).
        var lastMessage: ContinuousClock.Instant?
        /// The silence is measured from the later of this and `lastMessage`: the connection, or the
        /// stall check's latest action.
        var quietSince: ContinuousClock.Instant
        /// Resubscribed, and waiting one `timeout` for a message before reconnecting.
        var resubscribed = false
        /// Rounds of resubscribe-and-reconnect since the last live message (the back-off exponent).
        var rounds = 0
        var rate: DecayingRate
        var resubscribes = 0
        var reconnects = 0
        /// The broker refused the latest SUBSCRIBE of this filter.
        var refused = false

        init(filter: String, timeout: Duration?, now: ContinuousClock.Instant) {
            self.filter = filter
            self.timeout = timeout
            created = now
            quietSince = now
            rate = DecayingRate(start: now)
        }

        /// Whether the stall check has acted since the last live message.
        var stalled: Bool { resubscribed || rounds > 0 }
    }

    /// What the agent should do (and log) after a check.
    enum Action: Equatable {
        /// Send the SUBSCRIBE for `filter` again; no live message for `quiet`.
        case resubscribe(filter: String, quiet: Duration)
        /// Renew the connection: these filters stayed silent after their resubscribe.
        case reconnect(filters: [String])
        /// A stalled filter has live messages again, after `quiet` without.
        case resumed(filter: String, quiet: Duration)
    }

    /// The longest wait between two rounds of a subscription that stays silent (unless its own
    /// `stall_timeout` is longer).
    static let maxWait = Duration.seconds(3600)

    private(set) var watches: [Watch] = []
    /// The watch of each configured subscription, by the subscription's index.
    private(set) var watchOf: [Int] = []
    private(set) var counters = LivenessCounters()
    private(set) var connected = false
    /// Connections of the current MQTT session (its first finds no session of ours, by design).
    private var connects = 0

    init() {}

    /// Watches the subscriptions' filters (at start-up and on reload): kept filters keep their counts.
    mutating func configure(_ subscriptions: [Subscription], now: ContinuousClock.Instant) {
        configure(
            filters: subscriptions.map(\.topic),
            timeouts: subscriptions.map { $0.stallTimeout > 0 ? .milliseconds(Int64($0.stallTimeout * 1000)) : nil },
            now: now)
    }

    /// Watches `filters` (kept ones keep their counts).
    /// - Parameter timeouts: each filter's `stall_timeout`, nil for never; a filter that repeats keeps its first.
    mutating func configure(filters: [String], timeouts: [Duration?], now: ContinuousClock.Instant) {
        var kept = [String: Watch]()
        for w in watches { kept[w.filter] = w }
        var next = [Watch]()
        var index = [String: Int]()
        watchOf = []
        for (filter, timeout) in zip(filters, timeouts) {
            if let i = index[filter] {
                watchOf.append(i)
                continue
            }
            var w = kept[filter] ?? Watch(filter: filter, timeout: timeout, now: now)
            w.timeout = timeout
            index[filter] = next.count
            watchOf.append(next.count)
            next.append(w)
        }
        watches = next
    }

    /// Counts a message for the subscription at `subscription` (an index into the configuration).
    /// - Complexity: O(1); the clock is read by `observe`, not per message.
    mutating func record(subscription: Int, retained: Bool) {
        let i = watchOf[subscription]
        watches[i].messages += 1
        if !retained { watches[i].live += 1 }
    }

    /// A new MQTT session (start-up, or a reload that changed the filters): its first connection
    /// is not a reconnect.
    mutating func sessionStarted() { connects = 0 }

    /// The broker accepted a connection; the session has subscribed to every filter again.
    /// - Parameter persistent: whether the agent asks for a persistent session (`clean_session = false`).
    /// - Returns: true when the broker had lost the persistent session it held for this client.
    mutating func connected(sessionPresent: Bool, persistent: Bool, now: ContinuousClock.Instant) -> Bool {
        connected = true
        connects += 1
        counters.sessionPresent = sessionPresent
        for i in watches.indices {
            watches[i].quietSince = now
            watches[i].resubscribed = false
        }
        guard connects > 1 && !sessionPresent else { return false }
        counters.sessionResubscribes += watches.count
        if persistent { counters.sessionsLost += 1 }
        return persistent
    }

    mutating func disconnected() { connected = false }

    /// The broker's SUBACK for `filter`. Returns true when it refused the subscription.
    mutating func subscribed(filter: String, grantedQoS: Int?) -> Bool {
        let refused = grantedQoS == nil
        if refused { counters.refusals += 1 }
        for i in watches.indices where watches[i].filter == filter { watches[i].refused = refused }
        return refused
    }

    /// Takes in the messages counted since the last call: rates, last-message times, stalls that ended.
    mutating func observe(now: ContinuousClock.Instant) -> [Action] {
        var resumed = [Action]()
        for i in watches.indices {
            let w = watches[i]
            watches[i].rate.fold(w.messages - w.observedMessages, at: now)
            watches[i].observedMessages = w.messages
            guard w.live != w.observedLive else { continue }
            watches[i].observedLive = w.live
            watches[i].lastMessage = now
            if w.stalled {
                resumed.append(.resumed(filter: w.filter, quiet: now - (w.lastMessage ?? w.created)))
                watches[i].resubscribed = false
                watches[i].rounds = 0
            }
        }
        return resumed
    }

    /// Observes, then, while connected, resubscribes or reconnects for the filters silent too long.
    /// - Returns: the actions in order: resumptions, resubscribes, at most one reconnect.
    mutating func check(now: ContinuousClock.Instant) -> [Action] {
        var actions = observe(now: now)
        guard connected else { return actions }
        var silent = [String]()
        for i in watches.indices {
            let w = watches[i]
            guard let timeout = w.timeout else { continue }
            let quiet = now - max(w.lastMessage ?? w.quietSince, w.quietSince)
            if w.resubscribed {
                guard quiet >= timeout else { continue }
                watches[i].resubscribed = false
                watches[i].rounds += 1
                watches[i].reconnects += 1
                watches[i].quietSince = now
                silent.append(w.filter)
            } else if quiet >= Self.wait(timeout, rounds: w.rounds) {
                watches[i].resubscribed = true
                watches[i].resubscribes += 1
                watches[i].quietSince = now
                counters.stallResubscribes += 1
                actions.append(.resubscribe(filter: w.filter, quiet: now - (w.lastMessage ?? w.created)))
            }
        }
        if !silent.isEmpty {
            counters.stallReconnects += 1
            actions.append(.reconnect(filters: silent))
        }
        return actions
    }

    /// The silence that starts a round: `timeout`, doubled for every round since the last message,
    /// at most `maxWait` (or `timeout`, if longer).
    static func wait(_ timeout: Duration, rounds: Int) -> Duration {
        let cap = max(timeout, maxWait)
        let doubled = timeout * (1 << min(rounds, 20))
        return min(doubled, cap)
    }

    /// Every watched filter's figures as of `now` (the state itself is not advanced).
    func stats(now: ContinuousClock.Instant) -> [SubscriptionStats] {
        var view = self
        _ = view.observe(now: now)
        return view.watches.map { w in
            SubscriptionStats(
                filter: w.filter, messages: w.messages, lastMessageAge: w.lastMessage.map { now - $0 },
                watchedFor: now - w.created, messagesPerSecond: w.rate.perSecond(at: now), stallTimeout: w.timeout,
                stalled: w.stalled, refused: w.refused, resubscribes: w.resubscribes, stallReconnects: w.reconnects)
        }
    }
}

/// A message rate averaged over about the last minute: an exponentially decaying count (time
/// constant `tau`), in a few bytes rather than a window of samples.
///
/// Counts are folded in at each check; the ones of an interval are taken as spread evenly over it,
/// so a steady stream reads its true rate, and the first minute is not under-reported (the decayed
/// count is divided by the weight of the time watched so far, not of a whole minute).
struct DecayingRate {
    static let tau = 60.0
    let start: ContinuousClock.Instant
    private var folded: ContinuousClock.Instant
    private var sum = 0.0

    init(start: ContinuousClock.Instant) {
        self.start = start
        folded = start
    }

    /// Adds `count` messages that arrived since the previous fold.
    mutating func fold(_ count: Int, at now: ContinuousClock.Instant) {
        let dt = (now - folded).inSeconds
        guard dt > 0 else {
            sum += Double(count)
            return
        }
        let decay = exp(-dt / Self.tau)
        sum = sum * decay + Double(count) * (1 - decay) * Self.tau / dt
        folded = now
    }

    /// Messages per second as of the last fold, decayed to `now`.
    func perSecond(at now: ContinuousClock.Instant) -> Double {
        let watched = max(1, (now - start).inSeconds)
        let decayed = sum * exp(-max(0, (now - folded).inSeconds) / Self.tau)
        return decayed / (Self.tau * (1 - exp(-watched / Self.tau)))
    }
}

extension Duration {
    /// The duration in seconds.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
