internal import AliceFormat
package import SystemPackage

#if canImport(Glibc)
    internal import Glibc
#else
    internal import Darwin
#endif

/// Thin wrappers over the POSIX calls the storage layer needs: each retries `EINTR` and turns
/// `-1`/`errno` into an `AliceDBError` that names the file (its cause: swift-system's `Errno`).
/// Descriptors are swift-system's `FileDescriptor`s; whoever opens one closes it. Every call that
/// changes the disk asks a fault injector first when a test installed one (FileIO+Faults).
package enum FileIO {
    static func failure(_ what: String, _ path: String, _ err: Int32 = errno) -> AliceDBError {
        let reason = String(cString: strerror(err))
        let code: AliceDBError.Code =
            err == ENOSPC || err == EDQUOT || err == EFBIG ? .diskFull : err == ENOENT ? .notFound : .io
        return AliceDBError(code, "\(what) failed: \(reason)", path: path, errno: err, cause: Errno(rawValue: err))
    }

    @inline(__always)
    static func retrying(_ body: () -> Int) -> (Int, Int32) {
        while true {
            let r = body()
            if r == -1 && errno == EINTR { continue }
            return (r, r == -1 ? errno : 0)
        }
    }

    /// Replaces the file at `path` with `bytes` atomically and durably: a temporary file,
    /// fsync, rename, fsync of the directory. A crash leaves the old or the new file, never a mix.
    package static func replace(_ path: String, with bytes: [UInt8]) throws(AliceDBError) {
        let tmp = path + ".tmp"
        let fd = try open(tmp, write: true, create: true, truncate: true)
        do {
            try writeAll(fd, bytes, path: tmp)
            try sync(fd, path: tmp)
            close(fd)
        } catch {
            close(fd)
            try? remove(tmp)  // a full disk: leave no half-written temporary behind
            throw error
        }
        try rename(tmp, path)
        try syncDirectory(parent(of: path))
    }

    /// The corresponding C function is `open`.
    package static func open(_ path: String, write: Bool, create: Bool = false, truncate: Bool = false)
        throws(AliceDBError) -> FileDescriptor
    {
        var flags = write ? O_RDWR : O_RDONLY
        if create { flags |= O_CREAT }
        if truncate { flags |= O_TRUNC }
        flags |= O_CLOEXEC
        let injector = write && create ? try inject(.create, path).injector : nil
        let (fd, err) = retrying { Int(Glibc.open(path, flags, 0o644)) }
        if fd < 0 { throw failure("open", path, err) }
        injector?.didChange(.create, path: path, to: nil)
        return FileDescriptor(rawValue: Int32(fd))
    }

    package static func close(_ fd: FileDescriptor) { _ = Glibc.close(fd.rawValue) }

    /// Writes all of `bytes` at the current end of the file. The corresponding C function is `write`.
    package static func writeAll(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer, path: String)
        throws(AliceDBError)
    {
        let (injector, tear, _) = try inject(.write, path, count: bytes.count)
        let end = tear?.keep ?? bytes.count
        var done = 0
        while done < end {
            let (n, err) = retrying { Glibc.write(fd.rawValue, bytes.baseAddress! + done, end - done) }
            if n < 0 { throw failure("write", path, err) }
            if n == 0 { throw failure("write", path, ENOSPC) }
            done += n
        }
        if let tear { throw failure("write (injected, \(end) of \(bytes.count) bytes written)", path, tear.errno) }
        injector?.didChange(.write, path: path, to: nil)
    }

    package static func writeAll(_ fd: FileDescriptor, _ bytes: [UInt8], path: String) throws(AliceDBError) {
        let r = bytes.withUnsafeBytes { raw in Result { () throws(AliceDBError) in try writeAll(fd, raw, path: path) } }
        try r.get()
    }

    /// Reads exactly `count` bytes at `offset`. The corresponding C function is `pread`.
    package static func read(_ fd: FileDescriptor, offset: Int, count: Int, path: String) throws(AliceDBError)
        -> [UInt8]
    {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        var failure: AliceDBError? = nil
        out.withUnsafeMutableBytes { buf in
            while done < count {
                let (n, err) = retrying {
                    pread(fd.rawValue, buf.baseAddress! + done, count - done, off_t(offset + done))
                }
                if n < 0 {
                    failure = FileIO.failure("read", path, err)
                    return
                }
                if n == 0 {
                    failure = AliceDBError(
                        .corrupt, "file ends early (wanted \(count) bytes)", path: path, offset: offset + done)
                    return
                }
                done += n
            }
        }
        if let failure { throw failure }
        return out
    }

    /// The whole file (or nil if it does not exist).
    package static func readFile(_ path: String) throws(AliceDBError) -> [UInt8]? {
        let fd: FileDescriptor
        do { fd = try open(path, write: false) } catch  where error.code == .notFound { return nil }
        defer { close(fd) }
        let size = try self.size(fd, path: path)
        return try read(fd, offset: 0, count: size, path: path)
    }

    /// The corresponding C function is `fstat`.
    package static func size(_ fd: FileDescriptor, path: String) throws(AliceDBError) -> Int {
        var st = stat()
        if fstat(fd.rawValue, &st) != 0 { throw failure("stat", path) }
        return Int(st.st_size)
    }

    package static func size(path: String) -> Int? {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : nil
    }

    /// Bytes of the files in `dir` (0 for one that cannot be read).
    package static func directoryBytes(_ dir: String) -> Int {
        ((try? list(dir)) ?? []).reduce(0) { $0 + (size(path: dir + "/" + $1) ?? 0) }
    }

    /// The corresponding C function is `fsync`.
    package static func sync(_ fd: FileDescriptor, path: String) throws(AliceDBError) {
        let (injector, _, skip) = try inject(.sync, path)
        let (r, err) = skip ? (0, 0) : retrying { Int(fsync(fd.rawValue)) }
        if r != 0 { throw failure("fsync", path, err) }
        injector?.didChange(.sync, path: path, to: nil)
    }

    /// Makes a rename or unlink in `dir` durable.
    package static func syncDirectory(_ dir: String) throws(AliceDBError) {
        let fd = try open(dir, write: false)
        defer { close(fd) }
        try sync(fd, path: dir)
    }

    /// The corresponding C function is `ftruncate`.
    package static func truncate(_ fd: FileDescriptor, to size: Int, path: String) throws(AliceDBError) {
        let injector = try inject(.truncate, path).injector
        let (r, err) = retrying { Int(ftruncate(fd.rawValue, off_t(size))) }
        if r != 0 { throw failure("truncate", path, err) }
        injector?.didChange(.truncate, path: path, to: nil)
    }

    package static func seekToEnd(_ fd: FileDescriptor) { _ = lseek(fd.rawValue, 0, SEEK_END) }

    /// The corresponding C function is `rename`.
    package static func rename(_ from: String, _ to: String) throws(AliceDBError) {
        let injector = try inject(.rename, from, to: to).injector
        if Glibc.rename(from, to) != 0 { throw failure("rename to \(to)", from) }
        injector?.didChange(.rename, path: from, to: to)
    }

    /// The corresponding C function is `unlink`; a missing file is not an error.
    package static func remove(_ path: String) throws(AliceDBError) {
        let injector = try inject(.unlink, path).injector
        if unlink(path) != 0 {
            if errno != ENOENT { throw failure("unlink", path) }
            return
        }
        injector?.didChange(.unlink, path: path, to: nil)
    }

    /// Creates `path` (and parents) if missing, each made durable: the directory holding it is
    /// synced, or a power cut soon after could take a new database away whole, acknowledged points
    /// with it. The corresponding C function is `mkdir`.
    package static func makeDirectory(_ path: String) throws(AliceDBError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            let hook = injector(current)
            if hook != nil && exists(current) { continue }
            if let hook, case .fail(let err) = hook.willChange(.mkdir, path: current, to: nil, count: 0) {
                throw failure("mkdir (injected)", current, err)
            }
            if mkdir(current, 0o755) != 0 {
                if errno != EEXIST { throw failure("mkdir", current) }
                continue
            }
            hook?.didChange(.mkdir, path: current, to: nil)
            try syncParent(of: current)
        }
    }

    package static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Makes the name `path` durable in the directory holding it; a directory this process may not
    /// read (`EACCES`, one outside the database) cannot be synced and is left as it is.
    package static func syncParent(of path: String) throws(AliceDBError) {
        do { try syncDirectory(parent(of: path)) } catch  where error.errno == EACCES {}
    }

    /// The directory holding `path` (with a trailing `/`; `.` for a bare name).
    package static func parent(of path: String) -> String {
        var dir = path
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        while let last = dir.last, last != "/" { dir.removeLast() }
        return dir.isEmpty ? "." : dir
    }

    /// Names in `dir` (not `.`/`..`), sorted. The corresponding C function is `readdir`.
    package static func list(_ dir: String) throws(AliceDBError) -> [String] {
        guard let d = opendir(dir) else { throw failure("opendir", dir) }
        defer { closedir(d) }
        var names = [String]()
        while let entry = readdir(d) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Takes an exclusive advisory lock without waiting. The corresponding C function is `flock`.
    package static func lockExclusive(_ fd: FileDescriptor) -> Bool { flock(fd.rawValue, LOCK_EX | LOCK_NB) == 0 }

    /// Monotonic nanoseconds, for ages and sync intervals.
    package static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Wall-clock milliseconds since the epoch.
    package static func wallMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    package static var processID: Int32 { getpid() }
}

extension FileIO {
    /// Reads up to `buffer.count` bytes; 0 at the end. The corresponding C function is `read`.
    package static func readSome(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, path: String)
        throws(AliceDBError) -> Int
    {
        let (n, err) = retrying { Glibc.read(fd.rawValue, buffer.baseAddress!, buffer.count) }
        if n < 0 { throw failure("read", path, err) }
        return n
    }
}

extension FileIO {
    /// Removes an empty directory. The corresponding C function is `rmdir`.
    package static func removeDirectory(_ path: String) throws(AliceDBError) {
        let injector = try inject(.unlink, path).injector
        if rmdir(path) != 0 {
            if errno != ENOENT { throw failure("rmdir", path) }
            return
        }
        injector?.didChange(.unlink, path: path, to: nil)
    }
}
