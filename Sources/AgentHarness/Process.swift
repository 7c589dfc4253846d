public import Foundation

public func spawnAndWait(_ argv: [String]) throws -> Int32 {
    let pid = try spawn(argv)
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    return status
}

public final class TempDirectory {
    public let path = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(UUID().uuidString)").path
    public init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A plain HTTP/1.1 GET on loopback, without URLSession.
public func httpGet(port: Int, path: String) throws -> String {
    try httpRaw(port: port, Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
}

/// Sends `request` as is to 127.0.0.1:`port` and returns everything the server answers before it
/// closes the connection (or 5 s pass without a byte).
public func httpRaw(port: Int, _ request: [UInt8]) throws -> String {
    let fd = loopbackConnect(port)
    guard fd >= 0 else { throw HarnessError("cannot connect to 127.0.0.1:\(port)") }
    defer { close(fd) }
    var tv = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var sent = 0
    while sent < request.count {
        let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { break }  // the server may close early on a bad request: read its answer anyway
        sent += n
    }
    var out = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

/// Resident memory of a process from /proc/PID/status, bytes: (current VmRSS, peak VmHWM).
public func residentMemory(of pid: pid_t) -> (rss: Int, hwm: Int)? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    var rss = -1, hwm = -1
    for line in text.split(separator: "\n") {
        let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count >= 2, let kib = Int(parts[1]) else { continue }
        if parts[0] == "VmRSS:" { rss = kib * 1024 }
        if parts[0] == "VmHWM:" { hwm = kib * 1024 }
    }
    return rss >= 0 && hwm >= 0 ? (rss, hwm) : nil
}

/// A harness failure with what went wrong.
public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
