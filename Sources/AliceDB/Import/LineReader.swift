internal import AliceFormat
internal import SystemPackage

/// Reads a file line by line in large chunks (no Foundation), for CSV import.
public struct LineReader: ~Copyable {
    private let fd: FileDescriptor
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false
    public let path: String
    /// 1-based number of the last line returned.
    public private(set) var lineNumber = 0
    /// Bytes consumed so far (for progress).
    public private(set) var bytesRead = 0
    public let size: Int

    public init(path: String) throws {
        self.path = path
        fd = try FileIO.open(path, write: false)
        size = (try? FileIO.size(fd, path: path)) ?? 0
    }

    deinit { FileIO.close(fd) }

    private mutating func fill() throws(AliceDBError) {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        let chunk = 1 << 20
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        let fd = self.fd
        let path = self.path
        let got = try buffer.withUnsafeMutableBytes { raw in
            Result { () throws(AliceDBError) -> Int in
                try FileIO.readSome(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[old...]), path: path)
            }
        }.get()
        buffer.removeLast(chunk - got)
        if got == 0 { eof = true }
    }

    /// The next line's bytes (without `\n` / `\r\n`) lent to `body`; nil at the end.
    public mutating func nextBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R? {
        while true {
            let found: Int? = buffer.withUnsafeBufferPointer { b in
                var i = start
                while i < b.count {
                    if b[i] == UInt8(ascii: "\n") { return i }
                    i += 1
                }
                return nil
            }
            if found != nil || eof {
                guard let nl = found ?? (start < buffer.count ? buffer.count : nil) else { return nil }
                var end = nl
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let (s, e) = (start, end)
                bytesRead += min(nl + 1, buffer.count) - start
                start = min(nl + 1, buffer.count)
                lineNumber += 1
                return try buffer.withUnsafeBufferPointer { b in
                    try body(UnsafeBufferPointer(rebasing: b[s..<e]))
                }
            }
            try fill()
        }
    }

    /// The next line without its terminator (`\n` or `\r\n`), or nil at the end.
    public mutating func next() throws -> String? {
        while true {
            if let nl = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = nl
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                bytesRead += nl + 1 - start
                start = nl + 1
                lineNumber += 1
                return line
            }
            if eof {
                guard start < buffer.count else { return nil }
                var end = buffer.count
                if buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                bytesRead += buffer.count - start
                start = buffer.count
                lineNumber += 1
                return line
            }
            try fill()
        }
    }
}
