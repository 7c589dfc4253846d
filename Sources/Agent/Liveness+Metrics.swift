internal import AliceDB

/// The liveness families of the agent's /metrics: what the stall check watches, as gauges and
/// counters, so that a silent subscription shows on a dashboard before anyone misses its data.
extension Liveness {
    /// The liveness families of /metrics.
    func appendMetrics(to out: inout PrometheusText, now: ContinuousClock.Instant) {
        let watched = stats(now: now)
        let c = counters
        func perSubscription(_ value: (SubscriptionStats) -> Double) -> [(labels: String, value: Double)] {
            watched.map { ("{subscription=\"\(PrometheusText.escape($0.filter))\"}", value($0)) }
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
