public import Foundation

/// A cheap MQTT 3.1.1 load generator for tests and benchmarks: one TCP connection to 127.0.0.1,
/// PUBLISH packets written many to a syscall, PUBACKs read in bulk, at most `window` unacknowledged.
/// It exists so that a benchmark measures the agent and the broker rather than the publisher
/// (libmosquitto spends a wake-up and a write per message).
public final class LoadPublisher {
    private let fd: Int32
    private let window: Int
    private var out: [UInt8] = []
    private var nextID: UInt16 = 1
    private var unacked = 0
    private var pendingAck: [UInt8] = []
    public private(set) var published = 0

    public init(port: Int, clientID: String = "load-\(UUID().uuidString.prefix(8))", window: Int = 2000) throws {
        self.window = max(1, min(window, 65000))
        fd = loopbackConnect(port)
        guard fd >= 0 else { throw HarnessError("cannot connect to 127.0.0.1:\(port)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        // CONNECT: protocol "MQTT" level 4, clean session, keep-alive off.
        var body: [UInt8] = [0, 4] + Array("MQTT".utf8) + [4, 0x02, 0, 0]
        LoadPublisher.string(clientID, into: &body)
        var packet: [UInt8] = [0x10]
        LoadPublisher.length(body.count, into: &packet)
        try send(packet + body)
        var connack = [UInt8](repeating: 0, count: 4)
        guard try readExactly(&connack), connack[0] == 0x20, connack[3] == 0 else {
            close(fd)
            throw HarnessError("broker refused the connection: \(connack)")
        }
    }

    deinit {
        _ = try? send([0xE0, 0])
        close(fd)
    }

    /// Queues one PUBLISH; written when 64 KiB have gathered or on `flush`.
    public func publish(_ topic: String, _ payload: some Collection<UInt8>, qos: Int) throws {
        var body: [UInt8] = []
        LoadPublisher.string(topic, into: &body)
        if qos > 0 {
            body.append(UInt8(nextID >> 8))
            body.append(UInt8(nextID & 0xFF))
            nextID = nextID == 65535 ? 1 : nextID + 1
            unacked += 1
        }
        out.append(0x30 | UInt8(min(qos, 1) << 1))
        LoadPublisher.length(body.count + payload.count, into: &out)
        out += body
        out += payload
        published += 1
        if out.count >= 65536 || unacked >= window { try flush() }
    }

    /// Writes what is queued; then waits until fewer than `window` are unacknowledged.
    public func flush() throws {
        if !out.isEmpty {
            try send(out)
            out.removeAll(keepingCapacity: true)
        }
        try readAcks(blocking: false)
        while unacked >= window { try readAcks(blocking: true) }
    }

    /// Writes everything and waits for every acknowledgement.
    public func drain() throws {
        try flush()
        while unacked > 0 { try readAcks(blocking: true) }
    }

    private func readAcks(blocking: Bool) throws {
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, blocking ? 0 : Int32(MSG_DONTWAIT)) }
        if n == 0 { throw HarnessError("the broker closed the connection") }
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            throw HarnessError("recv failed: errno \(errno)")
        }
        pendingAck += buf[0..<n]
        // Only PUBACKs (0x40 0x02 id id) come back: nothing is subscribed.
        let whole = pendingAck.count / 4
        for i in 0..<whole where pendingAck[i * 4] != 0x40 {
            throw HarnessError("unexpected packet type \(pendingAck[i * 4]) from the broker")
        }
        unacked -= whole
        pendingAck.removeFirst(whole * 4)
    }

    private func send(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw HarnessError("write to the broker failed: errno \(errno)") }
            done += n
        }
    }

    private func readExactly(_ buf: inout [UInt8]) throws -> Bool {
        var got = 0
        while got < buf.count {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
            if n <= 0 { return false }
            got += n
        }
        return true
    }

    static func string(_ s: String, into out: inout [UInt8]) {
        let b = Array(s.utf8)
        out.append(UInt8(b.count >> 8))
        out.append(UInt8(b.count & 0xFF))
        out += b
    }

    /// MQTT's variable-length "remaining length".
    static func length(_ n: Int, into out: inout [UInt8]) {
        var x = n
        repeat {
            var byte = UInt8(x % 128)
            x /= 128
            if x > 0 { byte |= 0x80 }
            out.append(byte)
        } while x > 0
    }
}
