import TOMLConfig
import Testing

@testable import Agent

/// The stall check's state machine, on instants the test chooses (no clock, no broker), the message
/// rate, and the `stall_timeout` settings.
@Suite struct LivenessTests {
    let t0 = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant { t0 + .milliseconds(Int64(seconds * 1000)) }

    /// One filter with `timeout` seconds (nil: off), connected at t0.
    func watching(_ timeouts: [String: Double?]) -> Liveness {
        var l = Liveness()
        let filters = timeouts.keys.sorted()
        l.configure(filters: filters, timeouts: filters.map { f in timeouts[f]!.map { .seconds($0) } }, now: t0)
        _ = l.connected(sessionPresent: false, persistent: false, now: t0)
        return l
    }

    @Test func resubscribesThenReconnectsThenWaitsTwiceAsLong() {
        var l = watching(["a/#": 10])
        let a1 = l.check(now: at(9.9))
        #expect(a1.isEmpty)
        let a2 = l.check(now: at(10))
        #expect(a2 == [.resubscribe(filter: "a/#", quiet: .seconds(10))])
        let a3 = l.check(now: at(19.9))
        #expect(a3.isEmpty)
        let a4 = l.check(now: at(20))
        #expect(a4 == [.reconnect(filters: ["a/#"])])
        // The forced reconnect: the connection ends and comes back half a second later.
        l.disconnected()
        let a5 = l.check(now: at(100))
        #expect(a5.isEmpty, "nothing is done without a connection")
        _ = l.connected(sessionPresent: false, persistent: false, now: at(100))
        // Round two starts after 2 × 10 s of silence on the new connection, round three after 4 × 10 s.
        let a6 = l.check(now: at(119.9))
        #expect(a6.isEmpty)
        let a7 = l.check(now: at(120))
        #expect(a7 == [.resubscribe(filter: "a/#", quiet: .seconds(120))])
        let a8 = l.check(now: at(130))
        #expect(a8 == [.reconnect(filters: ["a/#"])])
        _ = l.connected(sessionPresent: false, persistent: false, now: at(130))
        let a9 = l.check(now: at(169.9))
        #expect(a9.isEmpty)
        let a10 = l.check(now: at(170))
        #expect(a10.count == 1)
        let c = l.counters
        #expect(c.stallResubscribes == 3 && c.stallReconnects == 2)
        let stats = l.stats(now: at(170))
        #expect(
            stats.map(\.stalled) == [true] && stats.map(\.resubscribes) == [3] && stats.map(\.stallReconnects) == [2])
    }

    @Test func aLiveMessageEndsTheStallAndTheBackOff() {
        var l = watching(["a/#": 10])
        _ = l.check(now: at(10))
        _ = l.check(now: at(20))
        _ = l.connected(sessionPresent: false, persistent: false, now: at(21))
        l.record(subscription: 0, retained: false)
        let a1 = l.check(now: at(22))
        #expect(a1 == [.resumed(filter: "a/#", quiet: .seconds(22))])
        #expect(l.stats(now: at(22)).first?.stalled == false)
        // Back to the plain timeout, counted from the message.
        let a2 = l.check(now: at(31.9))
        #expect(a2.isEmpty)
        let a3 = l.check(now: at(32))
        #expect(a3 == [.resubscribe(filter: "a/#", quiet: .seconds(10))])
    }

    /// The broker replays retained messages on every SUBSCRIBE: they prove nothing about the stream.
    @Test func retainedReplaysDoNotEndAStall() {
        var l = watching(["a/#": 10])
        let a1 = l.check(now: at(10))
        #expect(a1.count == 1)
        l.record(subscription: 0, retained: true)
        let a2 = l.check(now: at(20))
        #expect(a2 == [.reconnect(filters: ["a/#"])])
        let stats = l.stats(now: at(20))
        #expect(stats.first?.messages == 1 && stats.first?.lastMessageAge == nil)
    }

    @Test func offSubscriptionsAndDisconnectedTimeAreLeftAlone() {
        var l = watching(["quiet/#": nil, "a/#": 5])
        l.disconnected()
        let a1 = l.check(now: at(60))
        #expect(a1.isEmpty)
        _ = l.connected(sessionPresent: true, persistent: true, now: at(60))
        // Silence is counted from the connection, and only for the subscription that has a timeout.
        let a2 = l.check(now: at(64))
        #expect(a2.isEmpty)
        let a3 = l.check(now: at(65))
        #expect(a3 == [.resubscribe(filter: "a/#", quiet: .seconds(65))])
        #expect(l.stats(now: at(65)).map(\.resubscribes) == [1, 0])
    }

    @Test func filtersSilentTogetherShareOneReconnect() {
        var l = watching(["a/#": 10, "b/#": 10])
        let a1 = l.check(now: at(10))
        #expect(a1.count == 2)
        let a2 = l.check(now: at(20))
        #expect(a2 == [.reconnect(filters: ["a/#", "b/#"])])
        #expect(l.counters.stallReconnects == 1 && l.counters.stallResubscribes == 2)
    }

    @Test func theWaitDoublesUpToAnHourOrTheTimeout() {
        #expect(Liveness.wait(.seconds(10), rounds: 0) == .seconds(10))
        #expect(Liveness.wait(.seconds(10), rounds: 3) == .seconds(80))
        #expect(Liveness.wait(.seconds(10), rounds: 60) == .seconds(3600))
        #expect(Liveness.wait(.seconds(7200), rounds: 4) == .seconds(7200))
    }

    /// A reconnect that finds no session: counted, and as lost only when the agent asked to keep one.
    @Test func sessionsFoundMissingOnReconnect() {
        var l = Liveness()
        l.configure(filters: ["a/#", "b/#", "a/#"], timeouts: [nil, nil, nil], now: t0)
        #expect(l.watches.count == 2 && l.watchOf == [0, 1, 0])
        let a1 = l.connected(sessionPresent: false, persistent: true, now: t0)
        #expect(!a1, "a first connection is not a loss")
        let a2 = l.connected(sessionPresent: true, persistent: true, now: at(1))
        #expect(!a2)
        let a3 = l.connected(sessionPresent: false, persistent: true, now: at(2))
        #expect(a3)
        let a4 = l.connected(sessionPresent: false, persistent: false, now: at(3))
        #expect(!a4)
        #expect(l.counters.sessionsLost == 1 && l.counters.sessionResubscribes == 4)
        #expect(l.counters.sessionPresent == false)
        l.sessionStarted()
        let a5 = l.connected(sessionPresent: false, persistent: true, now: at(4))
        #expect(!a5, "a new session's first connection")
    }

    @Test func refusedSubscriptionsAreCountedAndShown() {
        var l = watching(["a/#": nil])
        let a1 = l.subscribed(filter: "a/#", grantedQoS: nil)
        #expect(a1)
        #expect(l.stats(now: t0).first?.refused == true)
        let a2 = l.subscribed(filter: "a/#", grantedQoS: 1)
        #expect(!a2)
        #expect(l.stats(now: t0).first?.refused == false && l.counters.refusals == 1)
    }

    @Test func reloadKeepsTheCountsOfKeptFilters() {
        var l = watching(["a/#": 10])
        l.record(subscription: 0, retained: false)
        l.configure(filters: ["b/#", "a/#"], timeouts: [nil, .seconds(30)], now: at(5))
        l.record(subscription: 1, retained: false)
        let stats = l.stats(now: at(6))
        #expect(stats.map(\.filter) == ["b/#", "a/#"])
        #expect(stats.map(\.messages) == [0, 2])
        #expect(stats[1].stallTimeout == .seconds(30) && stats[0].watchedFor == .seconds(1))
    }

    @Test func lastMessageAgeIsNilBeforeTheFirstMessage() {
        var l = watching(["a/#": nil])
        var s = l.stats(now: at(7))[0]
        #expect(s.lastMessageAge == nil && s.silence == .seconds(7))
        _ = l.check(now: at(7))
        l.record(subscription: 0, retained: false)
        _ = l.check(now: at(8))
        s = l.stats(now: at(11))[0]
        #expect(s.lastMessageAge == .seconds(3) && s.silence == .seconds(3))
    }

    /// 10 messages/s read as 10 from the first seconds on, fade after the stream stops, and hold over
    /// irregular check intervals.
    @Test func rateOfASteadyStream() {
        var rate = DecayingRate(start: t0)
        for s in 1...5 { rate.fold(10, at: at(Double(s))) }
        #expect(abs(rate.perSecond(at: at(5)) - 10) < 0.1)
        for s in 6...600 { rate.fold(s % 3 == 0 ? 30 : 0, at: at(Double(s))) }
        #expect(abs(rate.perSecond(at: at(600)) - 10) < 0.5)
        #expect(rate.perSecond(at: at(900)) < 0.1)
        var sparse = DecayingRate(start: t0)
        sparse.fold(0, at: at(0.5))
        for s in stride(from: 2.5, through: 300, by: 2.5) { sparse.fold(5, at: at(s)) }
        #expect(abs(sparse.perSecond(at: at(300)) - 2) < 0.05)
    }

    @Test func stallTimeoutSettings() throws {
        let text = """
            [mqtt]
            stall_timeout = 300
            [[subscribe]]
            topic = "a/+"
            [[subscribe]]
            topic = "meters/#"
            stall_timeout = 0
            [[subscribe]]
            topic = "fast/#"
            stall_timeout = 2.5
            """
        let c = try AgentConfig.parse(text, file: "gw.toml")
        #expect(c.stallTimeout == 300)
        #expect(c.subscriptions.map(\.stallTimeout) == [300, 0, 2.5])
        #expect(c.summary.contains("stall_timeout=300s"))
        #expect(c.summary.contains("subscribe[1]: meters/# ") && c.summary.contains("stall_timeout=off"))
        #expect(c.summary.contains("stall_timeout=2.5s"))
        #expect(try AgentConfig.parse("[[subscribe]]\ntopic = \"a/+\"", file: "gw.toml").stallTimeout == 0)
        for (line, expected) in [
            (
                "[mqtt]\nstall_timeout = 0.5\n[[subscribe]]\ntopic = \"a\"",
                "gw.toml:2: mqtt.stall_timeout: must be 0 (off) or 1 to 2592000 seconds (30 days), not 0.5"
            ),
            (
                "[[subscribe]]\ntopic = \"a\"\nstall_timeout = -1",
                "gw.toml:3: subscribe[0].stall_timeout: must be 0 (off) or 1 to 2592000 seconds (30 days), not -1.0"
            ),
            (
                "[[subscribe]]\ntopic = \"a\"\nstall_timeout = \"5m\"",
                "gw.toml:3: subscribe[0].stall_timeout: must be a number"
            ),
        ] {
            do {
                _ = try AgentConfig.parse(line, file: "gw.toml")
                Issue.record("accepted \(line)")
            } catch {
                #expect(error.description == expected)
            }
        }
    }
}
