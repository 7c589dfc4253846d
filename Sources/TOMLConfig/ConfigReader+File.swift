#if canImport(Glibc)
    internal import Glibc
#endif

extension ConfigReader {
    /// The text of the configuration file at `path` (the agent's and the cloud node's `--config`).
    /// - Parameter path: the file to read.
    /// - Returns: its bytes as UTF-8 text.
    /// - Throws: `ConfigError` naming the file: "no such file", or "cannot read: " and the
    ///   system's reason (a directory, no permission).
    package static func read(path: String) throws(ConfigError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw ConfigError(file: path, message: code == ENOENT ? "no such file" : "cannot read: \(reason(code))")
        }
        defer { close(fd) }
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw ConfigError(file: path, message: "cannot read: \(reason(code))")
            }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func reason(_ code: Int32) -> String { String(cString: strerror(code)) }
}
