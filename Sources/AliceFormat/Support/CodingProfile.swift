/// How a series' integer streams are entropy-coded. `compact`: the adaptive range coder
/// (`RangeCoder`), the fewest bytes. `fast`: static tables (`TableCoder`), which decode several
/// times faster for a few per cent more bytes (docs/benchmarks.md). Chosen per series; a segment
/// coded fast is format version 2, so that a reader that cannot decode it says so.
public enum CodingProfile: String, Sendable, Hashable, Codable, CaseIterable {
    case compact
    case fast

    /// The profile the codecs write under: `Competition.encode` sets it for a series' segments
    /// (the codecs read it where they choose their entropy coding, deep below their callers).
    @TaskLocal package static var current: CodingProfile = .compact
}
