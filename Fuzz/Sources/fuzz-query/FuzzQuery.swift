internal import AliceDB
internal import Dispatch
internal import FoundationEssentials
internal import Logging
internal import ReadAPI

#if canImport(Glibc)
    internal import Glibc
#endif

/// A tiny fixed store: gateway `gw` with a sine, a step function and a constant (minute points).
private let directory =
    (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : "/tmp")
    + "/alicedb-fuzz-query-\(ProcessInfo.processInfo.processIdentifier)"

private let store: DatabaseReadStore = {
    let dir = directory
    try? FileManager.default.removeItem(atPath: dir)
    atexit { try? FileManager.default.removeItem(atPath: directory) }
    var o = DatabaseOptions(sync: .off, logger: Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() })
    o.maintenanceTimer = false
    do {
        let db = try Database(path: dir, options: o)
        let t = (0..<240).map { 1_700_000_000_000 + Int64($0) * 60_000 }
        try db.putBatch("temp", timestamps: t, values: t.indices.map { 20 + 5 * sin(Double($0) / 20) })
        try db.putBatch("state", timestamps: t, values: t.indices.map { Double($0 / 60) })
        try db.putBatch("one", timestamps: Array(t.prefix(120)), values: Array(repeating: 1, count: 120))
        try db.flush()
        try db.putBatch("temp", timestamps: [t.last! + 60_000], values: [.nan])
        return DatabaseReadStore(name: "gw", db: db)
    } catch { fatalError("query store: \(error)") }
}()

private let read = ReadQueries(store: store, maxScanPoints: 1000)
private let prometheus = PrometheusQueries(store: store)
private let scopes: [ReadScope] = [.everyGateway, .ownGateway("gw"), .onlyGateway("gw")]
private let routes = ReadQueries.routes + PrometheusQueries.routes + ["/api/v1/label/series/values"]

/// One libFuzzer input: byte 0 picks the route (bits 0–3) and the caller's scope (bits 4–5); for a
/// Prometheus route the text up to the first newline is the PromQL `query` (percent-encoded here,
/// so that `+` stays an operator) and the rest the query string; for a read route all of it is the
/// query string. Answered by the read API over the fixed store, as the cloud node and the agent
/// answer it. Any answer is a pass; a trap, a hang or an unbounded allocation is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQuery(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let route = routes[Int(data[0] & 0x0F) % routes.count]
    let scope = scopes[Int(data[0] >> 4 & 3) % scopes.count]
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if ReadQueries.routes.contains(route) {
        let params = Parameters(String(decoding: rest, as: UTF8.self))
        wait { _ = try? await read.answer(route, params, scope) }
    } else {
        let cut = rest.firstIndex(of: 0x0A) ?? rest.count
        var params = Parameters(String(decoding: rest[min(cut + 1, rest.count)...], as: UTF8.self))
        params.add("query=" + percentEncoded(rest[..<cut]))
        let label = PrometheusQueries.labelValuesName(route)
        let all = params
        wait { _ = await prometheus.answer(route, all, scope, label: label) }
    }
    return 0
}

private func percentEncoded(_ bytes: ArraySlice<UInt8>) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var out = [UInt8]()
    for b in bytes {
        if (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) {
            out.append(b)
        } else {
            out += [0x25, hex[Int(b >> 4)], hex[Int(b & 15)]]
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// Runs `body` on the concurrency pool and waits for it (libFuzzer calls in synchronously).
private func wait(_ body: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task {
        await body()
        done.signal()
    }
    done.wait()
}
