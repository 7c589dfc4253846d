internal import CMosquitto

/// A libmosquitto result code (`MOSQ_ERR_*`).
///
/// A struct rather than an enum: a newer libmosquitto may return codes not named here, and they
/// keep their number and text.
public struct MQTTErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    init(_ code: mosq_err_t) { rawValue = code.rawValue }

    public static let success = MQTTErrorCode(MOSQ_ERR_SUCCESS)
    public static let outOfMemory = MQTTErrorCode(MOSQ_ERR_NOMEM)
    /// The broker sent something the protocol does not allow.
    public static let protocolError = MQTTErrorCode(MOSQ_ERR_PROTOCOL)
    /// An argument libmosquitto refused (a TLS file it cannot read, a bad topic).
    public static let invalidArgument = MQTTErrorCode(MOSQ_ERR_INVAL)
    public static let noConnection = MQTTErrorCode(MOSQ_ERR_NO_CONN)
    /// The broker answered CONNACK with a refusal (`MQTTError.connack` says why).
    public static let connectionRefused = MQTTErrorCode(MOSQ_ERR_CONN_REFUSED)
    public static let notFound = MQTTErrorCode(MOSQ_ERR_NOT_FOUND)
    public static let connectionLost = MQTTErrorCode(MOSQ_ERR_CONN_LOST)
    public static let tls = MQTTErrorCode(MOSQ_ERR_TLS)
    public static let payloadTooLarge = MQTTErrorCode(MOSQ_ERR_PAYLOAD_SIZE)
    public static let notSupported = MQTTErrorCode(MOSQ_ERR_NOT_SUPPORTED)
    public static let authenticationFailed = MQTTErrorCode(MOSQ_ERR_AUTH)
    public static let accessDenied = MQTTErrorCode(MOSQ_ERR_ACL_DENIED)
    public static let unknown = MQTTErrorCode(MOSQ_ERR_UNKNOWN)
    /// A system call failed: the error's `cause` holds its `errno`.
    public static let system = MQTTErrorCode(MOSQ_ERR_ERRNO)
    /// The broker's host name could not be resolved.
    public static let hostLookup = MQTTErrorCode(MOSQ_ERR_EAI)
    public static let proxy = MQTTErrorCode(MOSQ_ERR_PROXY)
    public static let malformedUTF8 = MQTTErrorCode(MOSQ_ERR_MALFORMED_UTF8)
    /// The broker did not answer within the keep-alive interval.
    public static let keepAlive = MQTTErrorCode(MOSQ_ERR_KEEPALIVE)
    public static let malformedPacket = MQTTErrorCode(MOSQ_ERR_MALFORMED_PACKET)
    public static let tlsHandshake = MQTTErrorCode(MOSQ_ERR_TLS_HANDSHAKE)
    public static let qosNotSupported = MQTTErrorCode(MOSQ_ERR_QOS_NOT_SUPPORTED)
    public static let oversizePacket = MQTTErrorCode(MOSQ_ERR_OVERSIZE_PACKET)
    public static let timeout = MQTTErrorCode(MOSQ_ERR_TIMEOUT)
    /// The broker's administrator ended the session.
    public static let administrativeAction = MQTTErrorCode(MOSQ_ERR_ADMINISTRATIVE_ACTION)

    /// libmosquitto's text for the code (`mosquitto_strerror`), or ours where it has none.
    public var description: String {
        switch self {
        // mosquitto_strerror formats MOSQ_ERR_ERRNO with the errno of the moment, which is not the
        // failure's: that errno travels as the error's cause instead.
        case .system: "A system call failed."
        // libmosquitto 2.0 answers "Unknown error." for these.
        case .keepAlive: "Keepalive timeout."
        case .malformedPacket: "Malformed packet."
        case .timeout: "Timeout."
        case .administrativeAction: "Administrative action."
        default: String(cString: mosquitto_strerror(rawValue))
        }
    }
}

/// Why a broker refused a connection: its CONNACK return code (MQTT 3.1.1: 1–5) or reason code
/// (MQTT 5: 128 and above).
public struct MQTTConnackCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    init(_ v311: mqtt311_connack_codes) { rawValue = Int32(v311.rawValue) }

    init(_ v5: mqtt5_return_codes) { rawValue = Int32(v5.rawValue) }

    public static let accepted = MQTTConnackCode(CONNACK_ACCEPTED)
    // MQTT 3.1.1
    public static let unacceptableProtocolVersion = MQTTConnackCode(CONNACK_REFUSED_PROTOCOL_VERSION)
    public static let identifierRejected = MQTTConnackCode(CONNACK_REFUSED_IDENTIFIER_REJECTED)
    public static let serverUnavailable = MQTTConnackCode(CONNACK_REFUSED_SERVER_UNAVAILABLE)
    public static let badUsernameOrPassword = MQTTConnackCode(CONNACK_REFUSED_BAD_USERNAME_PASSWORD)
    public static let notAuthorized = MQTTConnackCode(CONNACK_REFUSED_NOT_AUTHORIZED)
    // MQTT 5 (the same refusals have other numbers there)
    public static let unspecifiedError = MQTTConnackCode(MQTT_RC_UNSPECIFIED)
    public static let unsupportedProtocolVersion = MQTTConnackCode(MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION)
    public static let clientIdentifierNotValid = MQTTConnackCode(MQTT_RC_CLIENTID_NOT_VALID)
    public static let badUsernameOrPasswordMQTT5 = MQTTConnackCode(MQTT_RC_BAD_USERNAME_OR_PASSWORD)
    public static let notAuthorizedMQTT5 = MQTTConnackCode(MQTT_RC_NOT_AUTHORIZED)
    public static let serverUnavailableMQTT5 = MQTTConnackCode(MQTT_RC_SERVER_UNAVAILABLE)
    public static let serverBusy = MQTTConnackCode(MQTT_RC_SERVER_BUSY)
    public static let banned = MQTTConnackCode(MQTT_RC_BANNED)
    public static let badAuthenticationMethod = MQTTConnackCode(MQTT_RC_BAD_AUTHENTICATION_METHOD)
    public static let quotaExceeded = MQTTConnackCode(MQTT_RC_QUOTA_EXCEEDED)
    public static let useAnotherServer = MQTTConnackCode(MQTT_RC_USE_ANOTHER_SERVER)
    public static let serverMoved = MQTTConnackCode(MQTT_RC_SERVER_MOVED)
    public static let connectionRateExceeded = MQTTConnackCode(MQTT_RC_CONNECTION_RATE_EXCEEDED)

    /// The broker does not accept these credentials (user name, password, certificate): retrying
    /// will not help until the configuration changes.
    public var isAuthenticationFailure: Bool {
        [
            .badUsernameOrPassword, .notAuthorized, .badUsernameOrPasswordMQTT5, .notAuthorizedMQTT5, .banned,
            .badAuthenticationMethod,
        ].contains(self)
    }

    /// libmosquitto's text (`mosquitto_connack_string` for MQTT 3.1.1 codes, `mosquitto_reason_string`
    /// for MQTT 5 codes).
    public var description: String {
        String(cString: rawValue < 128 ? mosquitto_connack_string(rawValue) : mosquitto_reason_string(rawValue))
    }
}
