internal import AliceDB

/// One scrape of the agent's `/metrics`, in the Prometheus text exposition format.
///
/// Renders the agent's snapshot (`Agent.prometheusText` takes it) and what the database and the
/// uplink say: it needs neither the agent's actor nor MQTT, and the families and their order live
/// in one place.
struct AgentMetrics {
    let snapshot: AgentSnapshot
    /// The uplink's counters and lag (nil without `[uplink]`).
    let uplink: (counters: UplinkCounters, lag: UplinkLag)?
    let db: Database

    /// Counters, storage and memory, and the uplink's figures when there are some.
    func text() -> String {
        var out = PrometheusText()
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Double)]) {
            out.metric(name, type, help, samples.map { (labels: $0.0, value: $0.1) })
        }
        let c = snapshot.counters
        let w = db.counters
        let stats = try? db.stats()
        metric("alicedb_messages_total", "counter", "MQTT messages received.", [("", Double(c.messages))])
        metric("alicedb_points_total", "counter", "Points handed to the engine.", [("", Double(c.points))])
        metric(
            "alicedb_bad_payloads_total", "counter", "Payloads refused, by subscription.",
            snapshot.config.subscriptions.map {
                ("{subscription=\"\(escape($0.topic))\"}", Double(c.badPayloads[$0.topic] ?? 0))
            })
        metric(
            "alicedb_unmatched_messages_total", "counter", "Messages no subscription mapped.",
            [("", Double(c.unmatched))])
        metric("alicedb_broker_connected", "gauge", "1 when connected to the broker.", [("", c.connected ? 1 : 0)])
        metric(
            "alicedb_broker_reconnects_total", "counter", "Connections lost and re-established.",
            [("", Double(c.reconnects))])
        snapshot.liveness.appendMetrics(to: &out, now: .now)
        metric("alicedb_segments_written_total", "counter", "Segments written since start.", [("", Double(w.segments))])
        metric(
            "alicedb_segment_bytes_written_total", "counter", "Segment bytes written since start.",
            [("", Double(w.segmentBytes))])
        metric(
            "alicedb_late_points_total", "counter", "Points older than their series' flushed data.",
            [("", Double(w.late))])
        metric(
            "alicedb_retention_deleted_points_total", "counter", "Points deleted by retention.",
            [("", Double(w.retentionPoints))])
        metric(
            "alicedb_recompressed_segments_total", "counter",
            "Fast-profile segments re-encoded into the compact profile (recompress_after).",
            [("", Double(w.recompressedSegments))])
        metric(
            "alicedb_recompressed_bytes_total", "counter", "Bytes of the recompressed segments, before and after.",
            [
                ("{form=\"fast\"}", Double(w.recompressedBytesBefore)),
                ("{form=\"compact\"}", Double(w.recompressedBytesAfter)),
            ])
        metric(
            "alicedb_merged_segments_total", "counter",
            "Short segments merged away by housekeeping (a run of k made one counts k - 1; merge_segments).",
            [("", Double(w.mergedSegments))])
        metric(
            "alicedb_merged_bytes_total", "counter", "Bytes of the merged runs, before and after.",
            [
                ("{form=\"runs\"}", Double(w.mergedBytesBefore)),
                ("{form=\"merged\"}", Double(w.mergedBytesAfter)),
            ])
        metric(
            "alicedb_flushes_total", "counter", "MemTable flushes by cause.",
            [
                ("{cause=\"full\"}", Double(w.flushesFull)), ("{cause=\"budget\"}", Double(w.flushesBudget)),
                ("{cause=\"age\"}", Double(w.flushesAge)), ("{cause=\"explicit\"}", Double(w.flushesExplicit)),
                ("{cause=\"wal\"}", Double(w.flushesWAL)),
            ])
        appendDiskMetrics(to: &out)
        if let s = stats {
            metric(
                "alicedb_stored_points", "gauge", "Points stored (segments and MemTables).", [("", Double(s.points))])
            metric("alicedb_disk_bytes", "gauge", "Bytes of the data directory.", [("", Double(s.bytes))])
            metric("alicedb_memtable_points", "gauge", "Points waiting in MemTables.", [("", Double(s.bufferedPoints))])
            metric("alicedb_series", "gauge", "Series in the catalog.", [("", Double(s.series.count))])
        }
        metric(
            "alicedb_memtable_budget_bytes", "gauge", "MemTable memory budget.",
            [("", Double(snapshot.config.memoryLimit))])
        let memory = ProcessMemory.current()
        metric(
            "alicedb_resident_memory_bytes", "gauge", "Resident set size of the process (VmRSS).",
            [("", Double(memory.rss))])
        metric(
            "alicedb_resident_memory_peak_bytes", "gauge", "Peak resident set size (VmHWM).", [("", Double(memory.hwm))]
        )
        metric(
            "alicedb_malloc_arenas", "gauge", "Arenas of the C allocator (1: tuned; more hold freed memory twice).",
            [("", Double(ProcessMemory.mallocArenas()))])
        metric(
            "alicedb_memtable_bytes", "gauge", "Bytes the MemTables hold allocated.", [("", Double(db.memTableBytes))])
        if let u = uplink {
            let lag = u.lag
            metric(
                "alicedb_uplink_batches_total", "counter", "Batches the cloud node acknowledged.",
                [("", Double(u.counters.batches))])
            metric(
                "alicedb_uplink_sent_bytes_total", "counter", "Bytes of acknowledged batches.",
                [("", Double(u.counters.bytesSent))])
            metric(
                "alicedb_uplink_segments_total", "counter", "Segments acknowledged, by outcome at the node.",
                [
                    ("{outcome=\"sent\"}", Double(u.counters.segmentsSent)),
                    ("{outcome=\"duplicate\"}", Double(u.counters.duplicates)),
                    ("{outcome=\"rejected\"}", Double(u.counters.rejected)),
                ])
            metric(
                "alicedb_uplink_failures_total", "counter", "Upload attempts that failed (retried).",
                [("", Double(u.counters.failures))])
            metric(
                "alicedb_uplink_unsupported_features", "gauge",
                "Format features the cloud node cannot read (1 each; the segments wait for its upgrade).",
                u.counters.unsupportedFeatures.map { ("{feature=\"\(escape($0))\"}", 1) })
            metric(
                "alicedb_uplink_lag_segments", "gauge", "Segments not yet acknowledged by the cloud node.",
                [("", Double(lag.segments))])
            metric(
                "alicedb_uplink_lag_bytes", "gauge", "Segment bytes not yet acknowledged.", [("", Double(lag.bytes))])
            metric(
                "alicedb_uplink_lag_seconds", "gauge", "Seconds since nothing waited to be shipped.",
                [("", lag.seconds)])
            metric(
                "alicedb_uplink_acknowledged_points_total", "counter", "Points acknowledged since the outbox began.",
                [("", Double(lag.state?.acknowledgedPoints ?? 0))])
        }
        metric(
            "alicedb_retention_unshipped_deleted_segments_total", "counter",
            "Segments the disk budget deleted before the uplink had shipped them.",
            [("", Double(w.retentionUnshippedSegments))])
        metric(
            "alicedb_retention_unshipped_deleted_points_total", "counter",
            "Points the disk budget deleted before the uplink had shipped them.",
            [("", Double(w.retentionUnshippedPoints))])
        return out.text
    }

    /// The disk's gauges: intake paused or not, the WAL and the segment files against their bounds.
    private func appendDiskMetrics(to out: inout PrometheusText) {
        let s = db.diskStatus
        out.metric(
            "alicedb_intake_paused", "gauge", "1 while intake is paused, by reason.",
            IntakePause.Reason.allCases.map {
                ("{reason=\"\($0.rawValue)\"}", snapshot.intakePause?.reason == $0 ? 1 : 0)
            })
        out.metric(
            "alicedb_disk_full", "gauge", "1 while writes find the disk full (points wait in memory).",
            [("", s.diskFull == nil ? 0 : 1)])
        out.metric(
            "alicedb_disk_held_bytes", "gauge", "Bytes of points held in memory for want of disk.",
            [("", Double(s.heldBytes))])
        out.metric(
            "alicedb_wal_bytes", "gauge", "Bytes of the WAL files, written or buffered.", [("", Double(s.walBytes))])
        out.metric(
            "alicedb_wal_max_bytes", "gauge", "The WAL's bound (wal_max_bytes).",
            [("", Double(snapshot.config.walMaxBytes))])
        out.metric("alicedb_segment_bytes", "gauge", "Bytes of the segment files.", [("", Double(s.segmentBytes))])
        if let b = s.budgetBytes {
            out.metric(
                "alicedb_disk_budget_bytes", "gauge", "The segment files' budget (retention_max_bytes).",
                [("", Double(b))])
        }
    }

    private func escape(_ s: String) -> String { PrometheusText.escape(s) }
}
