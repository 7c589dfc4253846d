/// The one-screen text of `alicedb status`: sections of aligned `label  value` lines, then tables.
public enum StatusText {
    public static func render(_ s: AgentStatus, source: String) -> String {
        var out = "alicedb-agent \(s.version), up \(duration(s.uptimeSeconds))  (\(source))\n"
        var lines: [(String, String)] = [
            (
                "broker",
                "\(s.broker.address)  \(s.broker.connected ? "connected" : "DISCONNECTED")  reconnects \(s.broker.reconnects)"
                    + (s.broker.resubscribes + s.broker.stallReconnects > 0
                        ? "  resubscribes \(s.broker.resubscribes)  stall reconnects \(s.broker.stallReconnects)" : "")
            ),
            ("intake", s.intakePaused.map { "PAUSED: \($0)" } ?? "taking messages"),
        ]
        let st = s.storage
        lines.append(("storage", st.path))
        lines.append(
            (
                "  memtables",
                "\(group(st.memtablePoints)) points, \(bytes(st.memtableBytes)) of \(bytes(st.memtableBudgetBytes))"
            ))
        lines.append(("  wal", bytes(st.walBytes) + (st.walMaxBytes.map { " of \(bytes($0))" } ?? "")))
        lines.append(
            (
                "  disk",
                bytes(st.diskBytes)
                    + (st.diskBudgetBytes.map { " of \(bytes($0)) (on_full \(st.onFull ?? "drop_oldest"))" } ?? "")
            ))
        lines.append(("  stored", "\(group(st.storedPoints)) points in \(group(st.series)) series"))
        if let u = s.uplink {
            lines.append(("uplink", u.url))
            lines.append(
                ("  lag", "\(group(u.lagSegments)) segments, \(bytes(u.lagBytes)), \(duration(u.lagSeconds))"))
            lines.append(
                (
                    "  last upload",
                    u.lastSuccessMs.map { "\(ago(s.nowMs, $0)) (\(count(u.batches, "batch", "batches")) acknowledged)" }
                        ?? "none yet"
                ))
            if let error = u.lastError, let at = u.lastErrorMs {
                lines.append(("  last error", "\(ago(s.nowMs, at)): \(error)  (failures \(group(u.failures)))"))
            }
            if !u.unsupportedFeatures.isEmpty {
                lines.append(
                    (
                        "  REFUSED",
                        "the node cannot read \(u.unsupportedFeatures.joined(separator: ", ")): upgrade it"
                    ))
            }
        } else {
            lines.append(("uplink", "off"))
        }
        out += aligned(lines)
        out += "subscriptions\n"
        out += table(
            ["  topic", "messages", "rate/s", "last message", "stall after", "bad", ""],
            s.subscriptions.map { sub in
                [
                    "  " + sub.topic, group(sub.messages), sub.ratePerSecond.map { fixed($0, 1) } ?? "-",
                    sub.lastMessageAgeSeconds.map { "\(duration($0)) ago" } ?? "-",
                    sub.stallTimeoutSeconds.map { duration($0) } ?? "never", group(sub.badPayloads),
                    sub.refused ? "REFUSED by the broker" : sub.stalled ? "STALLED" : "",
                ]
            })
        return out
    }

    public static func render(_ s: NodeStatus, source: String) -> String {
        var out = "alicedb-cloud \(s.version), up \(duration(s.uptimeSeconds))  (\(source))\n"
        out += aligned([
            ("storage", s.storage + (s.storageProblem.map { "  UNAVAILABLE: \($0)" } ?? "  ok")),
            (
                "received",
                "\(group(s.batches)) batches: \(group(s.segmentsStored)) segments stored, \(group(s.segmentsDuplicate)) duplicates, \(group(s.segmentsRejected)) rejected"
            ),
            ("refused", "\(group(s.unauthorized)) unauthorized, \(group(s.rateLimited)) rate-limited requests"),
        ])
        out += "gateways\n"
        out += table(
            ["  name", "series", "points", "bytes", "last upload"],
            s.gateways.map { g in
                [
                    "  " + g.name, group(g.series), group(g.points), bytes(g.bytes),
                    g.lastUploadMs.map { ago(s.nowMs, $0) } ?? "not since start",
                ]
            })
        return out
    }

    static func aligned(_ lines: [(String, String)]) -> String {
        let width = lines.map(\.0.count).max() ?? 0
        return lines.map { $0.0 + String(repeating: " ", count: width - $0.0.count + 2) + $0.1 + "\n" }.joined()
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        guard !rows.isEmpty else { return "  (none)\n" }
        let all = [header] + rows
        let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
        return all.map { row in
            row.indices.map { c in
                c == 0
                    ? row[c] + String(repeating: " ", count: widths[c] - row[c].count)
                    : String(repeating: " ", count: widths[c] - row[c].count) + row[c]
            }.joined(separator: "  ") + "\n"
        }.joined()
    }

    /// `12 345 678`.
    static func group(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += " " }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// `1 batch`, `12 345 batches`.
    static func count(_ n: Int, _ one: String, _ many: String) -> String { "\(group(n)) \(n == 1 ? one : many)" }

    /// `1.5 MiB`, `812 B`.
    static func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var u = 0
        while v >= 1024 && u < units.count - 1 {
            v /= 1024
            u += 1
        }
        return u == 0 ? "\(n) B" : "\(fixed(v, 1)) \(units[u])"
    }

    /// `4.2 s`, `3 min 5 s`, `2 h 13 min`, `3 d 4 h`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "-" }
        if seconds < 60 { return "\(fixed(seconds, 1)) s" }
        let s = Int(seconds)
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        if s < 86400 { return "\(s / 3600) h \(s % 3600 / 60) min" }
        return "\(s / 86400) d \(s % 86400 / 3600) h"
    }

    static func ago(_ now: Int64, _ then: Int64) -> String { duration(Double(max(0, now - then)) / 1000) + " ago" }

    /// `x` with `places` decimals, without Foundation's formatters.
    static func fixed(_ x: Double, _ places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let r = (x * scale).rounded()
        let whole = Int(r / scale)
        let frac = Int(abs(r).truncatingRemainder(dividingBy: scale))
        guard places > 0 else { return "\(whole)" }
        let f = String(frac)
        return (r < 0 && whole == 0 ? "-" : "") + "\(whole)." + String(repeating: "0", count: places - f.count) + f
    }
}
