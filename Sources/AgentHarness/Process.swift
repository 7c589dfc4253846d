public import Foundation

public func spawnAndWait(_ argv: [String]) throws -> Int32 {
    waitForExit(try spawn(argv))
}

/// Waits for child `pid` to end; returns its wait status (0: exited with code 0).
@discardableResult
public func waitForExit(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return status
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

/// A harness failure with what went wrong.
public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
