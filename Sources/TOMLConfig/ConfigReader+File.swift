package import TOMLKit

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

extension ConfigReader {
    /// A secret given inline (`key`) or as a file (`key` + `_file`, e.g. `token_file`; what systemd's
    /// `LoadCredential` hands over): one or the other, not both.
    /// - Returns: the inline value or the file's text without its trailing line breaks; nil when
    ///   neither key is there.
    /// - Throws: `ConfigError` at the key: both given; the file missing, unreadable or empty.
    package func secret(_ t: TOMLTable, _ key: String, _ table: String) throws(ConfigError) -> String? {
        let fileKey = key + "_file"
        let inline = try string(t, key, table)
        guard let path = try string(t, fileKey, table) else { return inline }
        guard inline == nil else { throw error(table, fileKey, "give \(key) or \(fileKey), not both") }
        var text: String
        do { text = try ConfigReader.read(path: path) } catch {
            throw self.error(table, fileKey, "\(path): \(error.message)")
        }
        while text.last?.isNewline == true { text.removeLast() }
        guard !text.isEmpty else { throw error(table, fileKey, "\(path) is empty") }
        return text
    }
}
