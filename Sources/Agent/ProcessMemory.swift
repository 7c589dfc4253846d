#if canImport(Glibc)
    internal import Glibc
#endif

/// The agent's own memory, from /proc (Linux; zeros elsewhere).
public enum ProcessMemory {
    /// VmRSS and VmHWM of this process, bytes (zeros where there is no /proc).
    public static func current() -> (rss: Int, hwm: Int) { status(of: nil) ?? (0, 0) }

    /// VmRSS and VmHWM of process `pid` (nil: this one), bytes; nil if it cannot be read.
    public static func status(of pid: Int32?) -> (rss: Int, hwm: Int)? {
        guard let text = readProc("/proc/\(pid.map(String.init) ?? "self")/status") else { return nil }
        var rss: Int?
        var hwm: Int?
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let kib = Int(parts[1]) else { continue }
            if parts[0] == "VmRSS:" { rss = kib * 1024 }
            if parts[0] == "VmHWM:" { hwm = kib * 1024 }
        }
        guard let rss, let hwm else { return nil }
        return (rss, hwm)
    }

    /// A /proc file's text. They report size 0, so this reads until end of file.
    public static func readProc(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lets go of the file-backed pages start-up touched: this program's code and read-only data,
    /// and those of the shared libraries it loaded. Start-up (the dynamic linker's relocations,
    /// argument parsing, TOML, the HTTP listener, opening the database) touches code and tables
    /// spread over most of the executable, and the kernel maps files 64 KiB around every fault:
    /// most of a statically linked agent and of libstdc++ (TOMLKit's parser, used at start and on
    /// SIGHUP only) would stay resident although the ingest loop uses a fraction of them. Code is
    /// unmapped (`unmapIdleCode`); read-only data is paged out (`MADV_PAGEOUT`, Linux 5.4), which
    /// also drops it from the page cache unless another process maps it. What the agent needs
    /// afterwards faults back in. Returns the bytes of the ranges advised (0 where unsupported).
    @discardableResult
    public static func releaseStartupPages() -> Int {
        unmapIdleCode() + advise(21, where: { $0.hasPrefix("r--") })
    }

    /// Unmaps this program's code pages from it, leaving them in the page cache: the code the
    /// agent still runs faults back in at once (a minor fault, no disk read), and the rest — an
    /// outage's retry paths, a SIGHUP's TOML parser, code around what ran, which the kernel maps
    /// 64 KiB at a time — stops counting in the agent's resident memory. Only executable
    /// mappings, which nothing writes (unmapping relocated read-only data would lose its
    /// relocations), and not `MADV_PAGEOUT`: done every few seconds, that would read the code
    /// from the SD card again and again.
    @discardableResult
    public static func unmapIdleCode() -> Int {
        advise(4, where: { $0.hasPrefix("r-x") })  // MADV_DONTNEED
    }

    /// Gives `advice` (a `madvise` code) for every mapping of a file whose permissions pass `select`.
    private static func advise(_ advice: Int32, where select: (Substring) -> Bool) -> Int {
        #if os(Linux)
            guard let maps = readProc("/proc/self/maps") else { return 0 }
            var total = 0
            for line in maps.split(separator: "\n") {
                // start-end perms offset dev inode path: a file's mapping (not [stack], [vdso], anonymous).
                let f = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
                guard f.count == 6, f[5].drop(while: { $0 == " " }).hasPrefix("/"), select(f[1]) else { continue }
                let range = f[0].split(separator: "-")
                guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16),
                    end > start
                else { continue }
                // Older kernels answer EINVAL to an advice they do not know, and nothing happens.
                if madvise(UnsafeMutableRawPointer(bitPattern: start), Int(end - start), advice) == 0 {
                    total += Int(end - start)
                }
            }
            return total
        #else
            return 0
        #endif
    }

    /// glibc's allocator, set for a small long-running daemon: one arena (per-thread arenas gain it
    /// nothing but fragmentation) and a fixed mmap threshold of 128 KiB (big temporary buffers, such
    /// as a flush's encoding, go back to the kernel when freed instead of glibc raising the
    /// threshold and keeping them in the heap). Call before any other thread starts: glibc fixes its
    /// arena limit when a second thread first allocates.
    public static func tuneMalloc() {
        #if os(Linux)
            _ = glibcMallopt(-8, 1)  // M_ARENA_MAX
            _ = glibcMallopt(-3, 128 * 1024)  // M_MMAP_THRESHOLD
        #endif
    }

    /// Gives the kernel back the heap's free pages (glibc's `malloc_trim`), not only those at its
    /// top: flushes free buffers all over the heap, and between two flush rounds the pages of
    /// those not reused stay resident otherwise. Returns whether any memory was released.
    @discardableResult
    public static func returnFreePages() -> Bool {
        #if os(Linux)
            return glibcMallocTrim(0) == 1
        #else
            return false
        #endif
    }

    /// How many arenas glibc's allocator has (from `malloc_info`); 0 where unknown. `tuneMalloc`
    /// keeps it at 1 when it ran early enough — /metrics shows it, so a regression is visible.
    public static func mallocArenas() -> Int {
        #if os(Linux)
            var text: UnsafeMutablePointer<CChar>?
            var size = 0
            guard let stream = open_memstream(&text, &size) else { return 0 }
            let ok = glibcMallocInfo(0, stream) == 0
            fclose(stream)
            defer { free(text) }
            guard ok, let text else { return 0 }
            let xml = Array(String(cString: text).utf8)
            let tag = Array("<heap nr=".utf8)
            guard xml.count >= tag.count else { return 0 }
            return (0...(xml.count - tag.count)).count { xml[$0..<($0 + tag.count)].elementsEqual(tag) }
        #else
            return 0
        #endif
    }
}

#if os(Linux)
    /// `int mallopt(int, int)` from <malloc.h>, which the Glibc module does not export.
    @_silgen_name("mallopt")
    private func glibcMallopt(_ param: Int32, _ value: Int32) -> Int32

    /// `int malloc_trim(size_t)` from <malloc.h>.
    @_silgen_name("malloc_trim")
    private func glibcMallocTrim(_ pad: Int) -> Int32

    /// `int malloc_info(int, FILE *)` from <malloc.h>: the allocator's state as XML, one <heap> per arena.
    @_silgen_name("malloc_info")
    private func glibcMallocInfo(_ options: Int32, _ stream: UnsafeMutablePointer<FILE>) -> Int32
#endif
