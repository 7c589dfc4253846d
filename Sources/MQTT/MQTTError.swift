#if canImport(Glibc)
    internal import Glibc
#endif

/// A failed MQTT operation: libmosquitto's code, what was being done, the underlying cause, and
/// where (the broker, and the topic when there is one).
public struct MQTTError: Error, CustomStringConvertible, Sendable {
    public var code: MQTTErrorCode
    /// The broker's answer when it refused the connection (`code` is `.connectionRefused`).
    public var connack: MQTTConnackCode?
    /// What was being done (`TLS settings`, `connecting`, …).
    public var message: String
    /// A `SystemCallError` when `code` is `.system`.
    public var cause: (any Error)?
    /// The broker, `host:port`.
    public var broker: String
    /// The topic the operation was about, if any.
    public var topic: String?
    /// `Module/File.swift:line` where the error was raised.
    public var location: String

    public init(
        _ code: MQTTErrorCode, _ message: String, broker: String, topic: String? = nil,
        connack: MQTTConnackCode? = nil, cause: (any Error)? = nil, sourceFileID: String = #fileID,
        sourceLine: Int = #line
    ) {
        self.location = "\(sourceFileID):\(sourceLine)"
        self.code = code
        self.message = message
        self.broker = broker
        self.topic = topic
        self.connack = connack
        self.cause = cause
    }

    /// A refused connection, from the broker's CONNACK code.
    public init(
        refusedBy broker: String, connack: MQTTConnackCode, sourceFileID: String = #fileID, sourceLine: Int = #line
    ) {
        self.init(
            .connectionRefused, "connecting", broker: broker, connack: connack, sourceFileID: sourceFileID,
            sourceLine: sourceLine)
    }

    /// Whether the broker refused the credentials: a configuration change is needed.
    public var isAuthenticationFailure: Bool {
        code == .authenticationFailed || connack?.isAuthenticationFailure == true
    }

    public var description: String {
        var s = "mqtt://\(broker)"
        if let topic { s += " (topic \(topic))" }
        s += ": \(message): "
        if let connack {
            s += "\(connack) (CONNACK \(connack.rawValue))"
        } else {
            s += "\(code) (mosquitto error \(code.rawValue))"
        }
        if let cause { s += ": \(cause)" }
        return s
    }
}

/// A system call that failed, by its `errno`.
public struct SystemCallError: Error, Hashable, Sendable, CustomStringConvertible {
    public var errno: Int32

    public init(errno: Int32) { self.errno = errno }

    public var description: String { "\(String(cString: strerror(errno))) (errno \(errno))" }
}
