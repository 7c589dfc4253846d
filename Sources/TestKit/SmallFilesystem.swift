public import Foundation

#if canImport(Glibc)
    internal import Glibc
#endif

/// A small tmpfs mounted on a fresh directory, for tests of a full disk: `fill()` takes every free
/// byte, `free()` gives them back. Unmounted (and its directory removed) when released.
///
/// Mounting needs root (CAP_SYS_ADMIN); where that is refused, `mount` says why and the test
/// should skip visibly (`Test.cancel`).
public final class SmallFilesystem: Sendable {
    public let path: String
    public var filler: String { path + "/filler" }

    private init(path: String) { self.path = path }

    /// Mounts a tmpfs of `bytes` (rounded to pages by the kernel).
    /// - Returns: the file system, or why it could not be mounted.
    public static func mount(bytes: Int) -> Result<SmallFilesystem, MountRefused> {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("alicedb-small-\(UUID().uuidString)")
            .path
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            return .failure(MountRefused(reason: "cannot create \(dir): \(error)"))
        }
        // The corresponding C function is `mount`.
        if Glibc.mount("tmpfs", dir, "tmpfs", 0, "size=\(bytes),mode=0777") != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: dir)
            return .failure(MountRefused(reason: "mount -t tmpfs on \(dir): \(reason) (uid \(getuid()))"))
        }
        return .success(SmallFilesystem(path: dir))
    }

    deinit {
        _ = umount2(path, Int32(MNT_DETACH))
        _ = rmdir(path)
    }

    /// Writes a filler file until the file system is full.
    /// - Returns: the bytes written.
    @discardableResult
    public func fill() -> Int {
        let fd = open(filler, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0xA5, count: 4096)
        var total = 0
        // Then smaller writes for the last partial page.
        for size in [4096, 512, 64, 8, 1] {
            while true {
                let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, size) }
                if n <= 0 { break }
                total += n
            }
        }
        return total
    }

    /// Deletes the filler file: its bytes are free again.
    public func free() { _ = unlink(filler) }

    /// Free bytes, as `statvfs` counts them for an unprivileged writer.
    public var available: Int {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { return 0 }
        return Int(st.f_bavail) * Int(st.f_frsize)
    }
}

/// Why a small file system could not be mounted (not root, no CAP_SYS_ADMIN, no tmpfs).
public struct MountRefused: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public var description: String { "cannot mount a small tmpfs here: \(reason)" }
}
