internal import CMosquitto

#if canImport(Glibc)
    internal import Glibc
#endif

/// How to reach and talk to the broker.
public struct MQTTOptions: Sendable, Hashable {
    public var host: String = "127.0.0.1"
    public var port: Int = 1883
    public var clientID: String = "alicedb-agent"
    /// false = persistent session (the broker queues QoS ≥ 1 messages while we are away).
    public var cleanSession: Bool = true
    /// 4 = MQTT 3.1.1, 5 = MQTT 5.
    public var protocolVersion: Int = 4
    public var keepAlive: Int = 30
    public var username: String?
    public var password: String?
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    /// Skip the broker host-name check (tests with self-signed certificates only).
    public var tlsInsecure: Bool = false
    /// Messages in flight at QoS 1/2 (and the MQTT 5 receive maximum).
    public var inflight: Int = 1000
    /// Reconnect back-off: first delay and ceiling, seconds (exponential, with jitter).
    public var reconnectMin: Double = 0.5
    public var reconnectMax: Double = 30
    /// An optional status topic: `online` (retained) once connected, `offline` as last will.
    public var statusTopic: String?
    /// Messages received but not yet taken by the consumer; past this the network thread waits, so
    /// a burst stays in the broker's queue (and TCP) instead of this process's memory.
    public var backlog: Int = 2048
    /// TCP_NODELAY: send every packet (and every PUBACK) at once instead of letting Nagle coalesce them.
    public var tcpNoDelay: Bool = true

    public init() {}

    /// `host:port`, as errors name the broker.
    public var broker: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// What the network thread reports.
public enum MQTTEvent: Sendable {
    /// The broker accepted the connection; `sessionPresent` is its CONNACK flag: it resumed a session
    /// it kept for this client ID (false: a new session, whose subscriptions the session sends now).
    case connected(sessionPresent: Bool)
    /// The connection ended (nil: this side disconnected) or the broker refused it (the
    /// error's `connack` says why); the session reconnects by itself either way.
    case disconnected(MQTTError?)
    case message(MQTTMessage)
    /// The broker answered a SUBSCRIBE for `filter`: the QoS it granted, or nil when it refused the
    /// filter (SUBACK 0x80; MQTT 5: a reason code of 0x80 or more, such as 0x87 not authorised).
    case subscribed(filter: String, grantedQoS: Int?)
}

public struct MQTTMessage: Sendable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int
    public var retained: Bool
    /// Wall-clock arrival time, epoch milliseconds (the reading's time when the payload has none;
    /// taken on the network thread, so a backlog does not shift it).
    public var arrivalMillis: Int64
}

/// The context libmosquitto hands back to its callbacks: the one way events reach Swift.
private final class CallbackContext: @unchecked Sendable {
    // The `let`s are immutable after `init`. The `var`s are read and written on the network thread
    // only: in libmosquitto's callbacks and in `NetworkLoop.perform` commands. EventQueue locks.
    let queue: EventQueue
    let subscriptions: [(String, Int32)]
    let statusTopic: String?
    /// `host:port`, for the errors.
    let broker: String
    /// MQTT 5: subscribe with "send retained messages only for a new subscription".
    let mqtt5: Bool
    /// Between a CONNACK that accepted and the end of that connection.
    var connected = false
    /// SUBSCRIBEs not answered yet: message ID → filter (cleared on every new connection).
    var pendingSubscribes: [Int32: String] = [:]

    init(_ q: EventQueue, subscriptions: [(String, Int32)], statusTopic: String?, broker: String, mqtt5: Bool) {
        queue = q
        self.subscriptions = subscriptions
        self.statusTopic = statusTopic
        self.broker = broker
        self.mqtt5 = mqtt5
    }

    /// Sends a SUBSCRIBE and remembers its message ID, so that the SUBACK names the filter.
    func subscribe(_ mosq: OpaquePointer?, _ filter: String, _ qos: Int32) {
        var mid: Int32 = 0
        // MQTT 5: a broker that still holds the subscription sends no retained messages again (3.1.1
        // brokers always do: the same readings arrive once more, with a new arrival time).
        let rc =
            mqtt5
            ? mosquitto_subscribe_v5(mosq, &mid, filter, qos, Int32(MQTT_SUB_OPT_SEND_RETAIN_NEW.rawValue), nil)
            : mosquitto_subscribe(mosq, &mid, filter, qos)
        if rc == MOSQ_ERR_SUCCESS.rawValue { pendingSubscribes[mid] = filter }
    }
}

/// A session with one broker: libmosquitto driven by a `NetworkLoop` thread.
///
/// `@unchecked Sendable`: it owns the C handle; libmosquitto's client functions are thread-safe
/// in threaded mode (it locks internally), and `stop` is called once.
public final class MQTTSession: @unchecked Sendable {
    private let handle: OpaquePointer
    private let context: Unmanaged<CallbackContext>
    public let events: MQTTEvents
    public let options: MQTTOptions
    private let queue: EventQueue
    private var started = false
    private let loop: NetworkLoop

    private static let initOnce: Void = { _ = mosquitto_lib_init() }()

    /// - Parameter subscriptions: topic filters (`+`/`#` wildcards) and their QoS, (re)subscribed on every connect.
    public init(options: MQTTOptions, subscriptions: [(filter: String, qos: Int)]) throws(MQTTError) {
        _ = MQTTSession.initOnce
        self.options = options
        queue = EventQueue(limit: options.backlog)
        events = MQTTEvents(queue: queue)
        let ctx = CallbackContext(
            queue, subscriptions: subscriptions.map { ($0.filter, Int32($0.qos)) }, statusTopic: options.statusTopic,
            broker: options.broker, mqtt5: options.protocolVersion == 5)
        context = Unmanaged.passRetained(ctx)
        guard let h = mosquitto_new(options.clientID, options.cleanSession, context.toOpaque()) else {
            let e = errno  // ENOMEM, or EINVAL for a client ID libmosquitto refuses
            context.release()
            throw MQTTError(
                e == EINVAL ? .invalidArgument : .outOfMemory, "creating the client (client_id \(options.clientID))",
                broker: options.broker, cause: SystemCallError(errno: e))
        }
        handle = h
        loop = NetworkLoop(handle: h, reconnect: (options.reconnectMin, options.reconnectMax))
        // Every stored property is set: a throw from here runs deinit, which destroys the handle
        // and releases the context (doing it here as well freed them twice).
        try configure()
    }

    /// Turns a libmosquitto result into an `MQTTError` about `what` (and `topic`).
    private func check(_ rc: Int32, _ what: String, topic: String? = nil) throws(MQTTError) {
        guard rc != MOSQ_ERR_SUCCESS.rawValue else { return }
        let code = MQTTErrorCode(rawValue: rc)
        throw MQTTError(
            code, what, broker: options.broker, topic: topic,
            cause: code == .system ? SystemCallError(errno: errno) : nil)
    }

    private func configure() throws(MQTTError) {
        let o = options
        try check(
            mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, Int32(o.protocolVersion == 5 ? 5 : 4)),
            "protocol version")
        try check(mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, o.tcpNoDelay ? 1 : 0), "TCP_NODELAY")
        if o.protocolVersion == 5 {
            try check(
                mosquitto_int_option(handle, MOSQ_OPT_RECEIVE_MAXIMUM, Int32(max(1, min(o.inflight, 65535)))),
                "receive maximum")
        }
        try check(mosquitto_max_inflight_messages_set(handle, UInt32(max(0, o.inflight))), "in-flight window")
        if o.username != nil || o.password != nil {
            try check(mosquitto_username_pw_set(handle, o.username, o.password), "username/password")
        }
        if o.caFile != nil || o.certFile != nil {
            try check(mosquitto_tls_set(handle, o.caFile, nil, o.certFile, o.keyFile, nil), "TLS settings")
            if o.tlsInsecure { try check(mosquitto_tls_insecure_set(handle, true), "TLS insecure") }
        }
        if let status = o.statusTopic {
            try check(mosquitto_will_set(handle, status, 7, "offline", 1, true), "last will", topic: status)
        }
        try check(mosquitto_threaded_set(handle, true), "threaded mode")
        mosquitto_connect_with_flags_callback_set(handle) { mosq, obj, rc, flags in
            guard let obj else { return }
            let ctx = Unmanaged<CallbackContext>.fromOpaque(obj).takeUnretainedValue()
            guard rc == 0 else {
                ctx.queue.push(.disconnected(MQTTError(refusedBy: ctx.broker, connack: MQTTConnackCode(rawValue: rc))))
                return
            }
            ctx.connected = true
            ctx.pendingSubscribes.removeAll()
            // Every connection subscribes, whether or not the broker says it kept the session: a broker
            // that resumed a session without its subscriptions would otherwise leave us silent.
            for (filter, qos) in ctx.subscriptions { ctx.subscribe(mosq, filter, qos) }
            if let status = ctx.statusTopic { _ = mosquitto_publish(mosq, nil, status, 6, "online", 1, true) }
            ctx.queue.push(.connected(sessionPresent: flags & 1 != 0))
        }
        mosquitto_subscribe_callback_set(handle) { _, obj, mid, count, granted in
            guard let obj else { return }
            let ctx = Unmanaged<CallbackContext>.fromOpaque(obj).takeUnretainedValue()
            guard let filter = ctx.pendingSubscribes.removeValue(forKey: mid), count > 0, let granted else { return }
            ctx.queue.push(.subscribed(filter: filter, grantedQoS: granted[0] < 0x80 ? Int(granted[0]) : nil))
        }
        mosquitto_disconnect_callback_set(handle) { _, obj, rc in
            guard let obj else { return }
            let ctx = Unmanaged<CallbackContext>.fromOpaque(obj).takeUnretainedValue()
            ctx.connected = false
            let code = MQTTErrorCode(rawValue: rc)
            // rc 0: mosquitto_disconnect was called here; anything else is the reason the connection ended.
            ctx.queue.push(
                .disconnected(code == .success ? nil : MQTTError(code, "connection ended", broker: ctx.broker)))
        }
        mosquitto_message_callback_set(handle) { _, obj, msg in
            guard let obj, let msg else { return }
            let ctx = Unmanaged<CallbackContext>.fromOpaque(obj).takeUnretainedValue()
            let m = msg.pointee
            let topic = m.topic.map { String(cString: $0) } ?? ""
            let payload: [UInt8] =
                m.payloadlen > 0 && m.payload != nil
                ? Array(UnsafeRawBufferPointer(start: m.payload, count: Int(m.payloadlen))) : []
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            let now = Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
            ctx.queue.push(
                .message(
                    MQTTMessage(topic: topic, payload: payload, qos: Int(m.qos), retained: m.retain, arrivalMillis: now)
                ))
        }
    }

    /// Connects in the background (retrying with back-off) and starts the network thread.
    public func start() throws(MQTTError) {
        guard !started else { return }
        started = true
        // An unreachable broker is not an error here: the network thread keeps retrying.
        _ = mosquitto_connect_async(handle, options.host, Int32(options.port), Int32(options.keepAlive))
        let rc = loop.start()
        guard rc == 0 else {
            throw MQTTError(
                .system, "starting the network thread", broker: options.broker, cause: SystemCallError(errno: rc))
        }
    }

    /// Sends the SUBSCRIBE for `filter` again on the current connection, from the network thread
    /// (`.subscribed` reports the broker's answer); for a broker that dropped the subscription while
    /// the connection stayed up.
    /// - Parameter filter: one of the filters the session was created with.
    /// - Returns: false for a filter the session does not have. Without a connection nothing is sent:
    ///   the next connection subscribes to every filter anyway.
    @discardableResult
    public func resubscribe(_ filter: String) -> Bool {
        let ctx = context.takeUnretainedValue()
        guard let qos = ctx.subscriptions.first(where: { $0.0 == filter })?.1 else { return false }
        loop.perform { mosq in
            if ctx.connected { ctx.subscribe(mosq, filter, qos) }
        }
        return true
    }

    /// Ends the current connection with a DISCONNECT, from the network thread; the session then
    /// reconnects at once by itself (and subscribes again). Without a connection it does nothing.
    public func reconnect() {
        let ctx = context.takeUnretainedValue()
        loop.perform { mosq in
            if ctx.connected { _ = mosquitto_disconnect(mosq) }
        }
    }

    /// Says `offline` on the status topic, disconnects, joins the network thread, ends `events`.
    public func stop() {
        guard started else { return }
        started = false
        queue.stopWaiting()
        if let status = options.statusTopic { _ = mosquitto_publish(handle, nil, status, 7, "offline", 1, true) }
        _ = mosquitto_disconnect(handle)
        loop.stop()
        queue.finish()
    }

    /// Stops taking messages: nothing more is read; the acknowledgements owed for what has arrived
    /// (still delivered through `events`) are sent, then the session disconnects and stays away
    /// until `resume`. With a persistent session (`cleanSession` false) and QoS ≥ 1 the broker
    /// holds what is published meanwhile (up to its `max_queued_messages`) and sends it after.
    public func pause() { loop.pause() }

    /// Connects again at once and takes messages as before (`connected` comes again).
    public func resume() { loop.resume() }

    deinit {
        queue.stopWaiting()
        if started {
            _ = mosquitto_disconnect(handle)
            loop.stop()
        }
        queue.finish()
        mosquitto_destroy(handle)
        context.release()
    }
}
