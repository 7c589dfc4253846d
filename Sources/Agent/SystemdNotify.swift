#if canImport(Glibc)
    internal import Glibc
#endif

/// The systemd readiness protocol (`Type=notify`): one datagram to `$NOTIFY_SOCKET`.
/// Without that variable (not started by systemd) every call does nothing.
public enum SystemdNotify {
    /// Sends e.g. `READY=1`, `STOPPING=1`, `STATUS=…`; returns whether it was delivered.
    @discardableResult
    public static func send(_ state: String) -> Bool {
        #if os(Linux)
            guard let raw = getenv("NOTIFY_SOCKET") else { return false }
            var path = Array(String(cString: raw).utf8)
            guard !path.isEmpty, path.count < 108, path[0] == UInt8(ascii: "/") || path[0] == UInt8(ascii: "@") else {
                return false
            }
            if path[0] == UInt8(ascii: "@") { path[0] = 0 }  // abstract namespace
            let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { dst in
                for (i, b) in path.enumerated() { dst[i] = b }
            }
            let len = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
            let message = Array(state.utf8)
            let sent = withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, len) }
                }
            }
            return sent == message.count
        #else
            return false
        #endif
    }
}
