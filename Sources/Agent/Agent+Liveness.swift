internal import AliceDB
internal import Logging
internal import MQTT
internal import ServiceLifecycle

/// MQTT liveness: per-subscription traffic, the stall check (`stall_timeout`), and what the broker
/// says about sessions and subscriptions — so that a subscription never goes silent unnoticed.
extension Agent {
    /// Every watched subscription's traffic and stall state, in configuration order (one entry per
    /// distinct topic filter).
    public func subscriptionStats() -> [SubscriptionStats] { liveness.stats(now: .now) }

    /// What the liveness handling has done since the agent started.
    public var livenessCounters: LivenessCounters { liveness.counters }

    /// The broker accepted a connection (the session has subscribed to every filter again).
    func livenessConnected(sessionPresent: Bool) {
        let persistent = !config.mqtt.cleanSession
        if liveness.connected(sessionPresent: sessionPresent, persistent: persistent, now: .now) {
            logger.warning(
                "the broker lost the persistent session (restarted without persistence?); subscribed again, but what it held for the agent is gone",
                metadata: ["client_id": "\(config.mqtt.clientID)"])
        }
    }

    /// The broker answered a SUBSCRIBE.
    func subscriptionAnswered(filter: String, grantedQoS: Int?) {
        guard liveness.subscribed(filter: filter, grantedQoS: grantedQoS) else { return }
        // Retried by the stall check (when it is on) and on every reconnect.
        logger.warning("the broker refused the subscription (its ACL?)", metadata: ["subscription": "\(filter)"])
    }

    /// One round of the stall check: resubscribes or reconnects for silent subscriptions, and says
    /// which stalls ended.
    func checkLiveness() {
        for action in liveness.check(now: .now) {
            switch action {
            case .resubscribe(let filter, let quiet):
                logger.warning(
                    "no message within stall_timeout; subscribing again",
                    metadata: ["subscription": "\(filter)", "silent_seconds": "\(Int(quiet.inSeconds))"])
                session?.resubscribe(filter)
            case .reconnect(let filters):
                logger.warning(
                    "still no message after subscribing again; reconnecting",
                    metadata: ["subscriptions": "\(filters.joined(separator: ", "))"])
                session?.reconnect()
            case .resumed(let filter, let quiet):
                logger.notice(
                    "messages again after a stall",
                    metadata: ["subscription": "\(filter)", "silent_seconds": "\(Int(quiet.inSeconds))"])
            }
        }
    }

    /// The liveness families of /metrics.
    func appendLivenessMetrics(to out: inout PrometheusText) {
        let stats = liveness.stats(now: .now)
        let c = liveness.counters
        func perSubscription(_ value: (SubscriptionStats) -> Double) -> [(labels: String, value: Double)] {
            stats.map { ("{subscription=\"\(PrometheusText.escape($0.filter))\"}", value($0)) }
        }
        out.metric(
            "alicedb_subscription_messages_total", "counter",
            "Messages whose topic matches the subscription's filter (retained replays included).",
            perSubscription { Double($0.messages) })
        out.metric(
            "alicedb_subscription_last_message_age_seconds", "gauge",
            "Seconds since the subscription's last message that was not a retained replay (before the first: since it was subscribed).",
            perSubscription { ($0.silence.inSeconds * 10).rounded() / 10 })
        out.metric(
            "alicedb_subscription_messages_per_second", "gauge",
            "Messages per second, exponentially weighted over about a minute.",
            perSubscription { ($0.messagesPerSecond * 1000).rounded() / 1000 })
        out.metric(
            "alicedb_subscription_stalled", "gauge",
            "1 while the stall check has acted and no message has come since.",
            perSubscription { $0.stalled ? 1 : 0 })
        out.metric(
            "alicedb_mqtt_resubscribes_total", "counter",
            "Subscriptions sent again, by reason: stall_timeout passed in silence, or a reconnect found no session.",
            [
                ("{reason=\"stall\"}", Double(c.stallResubscribes)),
                ("{reason=\"no_session\"}", Double(c.sessionResubscribes)),
            ])
        out.metric(
            "alicedb_mqtt_stall_reconnects_total", "counter",
            "Connections renewed because a subscription stayed silent after its resubscribe.",
            [("", Double(c.stallReconnects))])
        out.metric(
            "alicedb_mqtt_subscribe_refusals_total", "counter", "SUBSCRIBEs the broker refused.",
            [("", Double(c.refusals))])
        out.metric(
            "alicedb_mqtt_sessions_lost_total", "counter",
            "Reconnects where the broker had lost the persistent session, and the messages it held.",
            [("", Double(c.sessionsLost))])
        out.metric(
            "alicedb_mqtt_session_present", "gauge", "1 when the broker resumed a stored session at the last connect.",
            [("", c.sessionPresent == true ? 1 : 0)])
    }
}

/// The stall check, every second on `ContinuousClock`, until a graceful shutdown.
struct LivenessService: Service {
    let agent: Agent
    static let interval = Duration.seconds(1)

    func run() async throws {
        var next = ContinuousClock.now + Self.interval
        while true {
            let wake = next
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(until: wake, clock: .continuous) } } catch
            {
                return  // shut down (or cancelled)
            }
            await agent.checkLiveness()
            next = max(next + Self.interval, ContinuousClock.now)
        }
    }
}
