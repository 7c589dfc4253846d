import Foundation

/// What the benchmark reports of the machine it ran on: memory, and bytes on disk and free.
enum Machine {
    /// The sizes of the regular files under `path` (what `du -sb` counts, directories aside).
    static func directoryBytes(_ path: String) -> Int {
        guard let files = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total = 0
        while let f = files.nextObject() as? String {
            var st = stat()
            if lstat(path + "/" + f, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { total += Int(st.st_size) }
        }
        return total
    }

    /// Bytes an unprivileged writer may still use on the file system holding `path` (as `df`).
    static func freeBytes(_ path: String) -> Int {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return 0 }
        return Int(s.f_bavail) * Int(s.f_frsize)
    }

    /// MemTotal from /proc/meminfo, in GiB.
    static func memTotal() -> String {
        let text = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        let kb =
            text.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }?.split(separator: " ").dropFirst().first
            .flatMap { Double($0) } ?? 0
        return Report.fixed(kb / 1_048_576, 1) + " GiB"
    }
}
