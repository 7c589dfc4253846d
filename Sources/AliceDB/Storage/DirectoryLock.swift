internal import AliceFormat
internal import SystemPackage

/// The one-writer lock of a data directory: an exclusive `flock` on its `LOCK` file, which holds
/// the writer's pid. The lock owns its descriptor and lets go of it on `release` or in `deinit`
/// (closing is all it does there: the kernel drops the lock with the descriptor).
final class DirectoryLock {
    private var fd: FileDescriptor

    /// Takes the lock of the directory at `dir`.
    /// - Throws: `.locked` naming the holder's pid when another process writes the directory.
    init(dir: String) throws(AliceDBError) {
        let path = dir + "/LOCK"
        let fd = try FileIO.open(path, write: true, create: true)
        guard FileIO.lockExclusive(fd) else {
            let holder = (try? FileIO.readFile(path)).flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) } ?? ""
            FileIO.close(fd)
            throw AliceDBError(
                .locked,
                "database is open for writing by another process (pid \(holder.isEmpty ? "?" : holder)); "
                    + "use a read-only open to query it",
                path: dir)
        }
        self.fd = fd
        do {
            try FileIO.truncate(fd, to: 0, path: path)
        } catch {
            FileIO.close(fd)
            throw error
        }
        try? FileIO.writeAll(fd, Array("\(FileIO.processID)".utf8), path: path)
    }

    func release() {
        guard fd.rawValue >= 0 else { return }
        FileIO.close(fd)
        fd = FileDescriptor(rawValue: -1)
    }

    deinit { release() }
}
