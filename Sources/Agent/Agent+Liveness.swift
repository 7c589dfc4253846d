internal import AliceDB
internal import Logging
internal import MQTT

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
}
