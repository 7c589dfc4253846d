import AliceDB

/// Series i: labels, where its values come from, and its timestamps: a 1 s grid from
/// `PromQLBench.start`, each point 1 to 5 ms late (a gateway's clock; never on a step boundary).
struct PromSeriesPlan {
    var gateway: Int
    var name: String
    var source: Int
    var offset: Int
    var timestamps: [Int64]

    /// Series `i` of `points` points, its values taken from `sources` in turn (each lap of
    /// the sources starts 10 007 values further on, so that no two series are equal).
    init(_ i: Int, points: Int, sources: [PromValues]) {
        var rng = SplitMix(seed: UInt64(i) &+ 0x5EED)
        timestamps = (0..<points).map { k in (PromQLBench.start + Int64(k)) * 1000 + 1 + Int64(rng.next() % 5) }
        source = i % sources.count
        let lap = i / sources.count
        gateway = i % PromQLBench.gateways
        name = "s\(i)"
        offset = (lap * 10_007) % sources[source].values.count
    }

    /// The index into its source of point `k`'s value.
    func value(_ k: Int, _ sources: [PromValues]) -> Int { (offset + k) % sources[source].values.count }
}
