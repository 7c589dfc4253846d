public import FoundationEssentials

/// The version of this build (the agent, the node and the CLI report it).
public enum AliceDBVersion {
    public static let string = "0.4.0"
}

/// What `GET /v1/status` on the agent's loopback listener answers and `alicedb status` shows: one
/// screen of the gateway's health. JSON keys are snake_case (`lag_segments`); times are Unix
/// milliseconds, ages seconds; a nil is a thing the agent does not have (no uplink, no budget).
public struct AgentStatus: Codable, Sendable, Equatable {
    public struct Broker: Codable, Sendable, Equatable {
        public var address: String
        public var connected: Bool
        public var reconnects: Int
        /// Subscriptions sent again (stalled, or a reconnect that found no session) and
        /// connections the stall check renewed.
        public var resubscribes: Int
        public var stallReconnects: Int
        public init(address: String, connected: Bool, reconnects: Int, resubscribes: Int = 0, stallReconnects: Int = 0)
        {
            self.address = address
            self.connected = connected
            self.reconnects = reconnects
            self.resubscribes = resubscribes
            self.stallReconnects = stallReconnects
        }
    }

    public struct Subscription: Codable, Sendable, Equatable {
        public var topic: String
        public var messages: Int
        public var badPayloads: Int
        /// Messages per second lately; nil where the agent does not measure it.
        public var ratePerSecond: Double?
        /// Seconds since the last message (since the subscription started, before the first one).
        public var lastMessageAgeSeconds: Double?
        /// Seconds without a message after which the agent resubscribes (nil: never).
        public var stallTimeoutSeconds: Double?
        /// The stall check acted (resubscribed, maybe reconnected) and no message came since.
        public var stalled: Bool
        /// The broker refused the latest SUBSCRIBE of this filter.
        public var refused: Bool
        public init(
            topic: String, messages: Int, badPayloads: Int, ratePerSecond: Double? = nil,
            lastMessageAgeSeconds: Double? = nil, stallTimeoutSeconds: Double? = nil, stalled: Bool = false,
            refused: Bool = false
        ) {
            self.stalled = stalled
            self.refused = refused
            self.topic = topic
            self.messages = messages
            self.badPayloads = badPayloads
            self.ratePerSecond = ratePerSecond
            self.lastMessageAgeSeconds = lastMessageAgeSeconds
            self.stallTimeoutSeconds = stallTimeoutSeconds
        }
    }

    public struct Storage: Codable, Sendable, Equatable {
        public var path: String
        public var series: Int
        public var storedPoints: Int
        public var memtablePoints: Int
        public var memtableBytes: Int
        public var memtableBudgetBytes: Int
        public var walBytes: Int
        public var walMaxBytes: Int?
        public var diskBytes: Int
        /// `retention_max_bytes`, if set.
        public var diskBudgetBytes: Int?
        /// `on_full` with a disk budget.
        public var onFull: String?
        public init(
            path: String, series: Int, storedPoints: Int, memtablePoints: Int, memtableBytes: Int,
            memtableBudgetBytes: Int, walBytes: Int, walMaxBytes: Int? = nil, diskBytes: Int,
            diskBudgetBytes: Int? = nil, onFull: String? = nil
        ) {
            self.path = path
            self.series = series
            self.storedPoints = storedPoints
            self.memtablePoints = memtablePoints
            self.memtableBytes = memtableBytes
            self.memtableBudgetBytes = memtableBudgetBytes
            self.walBytes = walBytes
            self.walMaxBytes = walMaxBytes
            self.diskBytes = diskBytes
            self.diskBudgetBytes = diskBudgetBytes
            self.onFull = onFull
        }
    }

    public struct Uplink: Codable, Sendable, Equatable {
        public var url: String
        public var lagSegments: Int
        public var lagBytes: Int
        public var lagSeconds: Double
        public var batches: Int
        public var failures: Int
        public var lastSuccessMs: Int64?
        public var lastError: String?
        public var lastErrorMs: Int64?
        /// Format features the node said it cannot read (the segments wait for its upgrade).
        public var unsupportedFeatures: [String]
        public init(
            url: String, lagSegments: Int, lagBytes: Int, lagSeconds: Double, batches: Int, failures: Int,
            lastSuccessMs: Int64? = nil, lastError: String? = nil, lastErrorMs: Int64? = nil,
            unsupportedFeatures: [String] = []
        ) {
            self.url = url
            self.lagSegments = lagSegments
            self.lagBytes = lagBytes
            self.lagSeconds = lagSeconds
            self.batches = batches
            self.failures = failures
            self.lastSuccessMs = lastSuccessMs
            self.lastError = lastError
            self.lastErrorMs = lastErrorMs
            self.unsupportedFeatures = unsupportedFeatures
        }
    }

    public var version: String
    /// When the status was taken.
    public var nowMs: Int64
    public var uptimeSeconds: Double
    public var broker: Broker
    /// Why intake is paused (a full disk budget, a full disk); nil while it takes messages.
    public var intakePaused: String?
    public var subscriptions: [Subscription]
    public var storage: Storage
    public var uplink: Uplink?

    public init(
        version: String = AliceDBVersion.string, nowMs: Int64, uptimeSeconds: Double, broker: Broker,
        intakePaused: String? = nil, subscriptions: [Subscription], storage: Storage, uplink: Uplink?
    ) {
        self.version = version
        self.nowMs = nowMs
        self.uptimeSeconds = uptimeSeconds
        self.broker = broker
        self.intakePaused = intakePaused
        self.subscriptions = subscriptions
        self.storage = storage
        self.uplink = uplink
    }
}

/// What `GET /v1/status` on a cloud node answers (`alicedb status --cloud`).
public struct NodeStatus: Codable, Sendable, Equatable {
    public struct Gateway: Codable, Sendable, Equatable {
        public var name: String
        public var series: Int
        public var points: Int
        public var bytes: Int
        /// The last batch this node stored from it (nil: none since the node started).
        public var lastUploadMs: Int64?
        public init(name: String, series: Int, points: Int, bytes: Int, lastUploadMs: Int64?) {
            self.name = name
            self.series = series
            self.points = points
            self.bytes = bytes
            self.lastUploadMs = lastUploadMs
        }
    }

    public var version: String
    public var nowMs: Int64
    public var uptimeSeconds: Double
    /// `embedded <path>` or `postgres <redacted url>`.
    public var storage: String
    /// nil while the store answers; else what is wrong.
    public var storageProblem: String?
    public var batches: Int
    public var segmentsStored: Int
    public var segmentsDuplicate: Int
    public var segmentsRejected: Int
    public var unauthorized: Int
    public var rateLimited: Int
    /// The gateways the caller may see (a gateway's token: itself).
    public var gateways: [Gateway]

    public init(
        version: String = AliceDBVersion.string, nowMs: Int64, uptimeSeconds: Double, storage: String,
        storageProblem: String?, batches: Int, segmentsStored: Int, segmentsDuplicate: Int, segmentsRejected: Int,
        unauthorized: Int, rateLimited: Int, gateways: [Gateway]
    ) {
        self.version = version
        self.nowMs = nowMs
        self.uptimeSeconds = uptimeSeconds
        self.storage = storage
        self.storageProblem = storageProblem
        self.batches = batches
        self.segmentsStored = segmentsStored
        self.segmentsDuplicate = segmentsDuplicate
        self.segmentsRejected = segmentsRejected
        self.unauthorized = unauthorized
        self.rateLimited = rateLimited
        self.gateways = gateways
    }
}

/// The JSON both sides use: snake_case keys, sorted, so that scripts and diffs see stable text.
public enum StatusJSON {
    public static func encode(_ value: some Encodable) -> String {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return ((try? e.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}") + "\n"
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return try d.decode(type, from: Data(bytes))
    }
}
