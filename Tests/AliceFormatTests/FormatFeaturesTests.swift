import TestSupport
import Testing

@testable import AliceFormat

/// `FormatFeatures`: what a reader must know to read a segment, named from its header and payloads.
@Suite struct FormatFeaturesTests {
    @Test func segmentsNameTheirVersionModelTimestampsAndInnerCoding() throws {
        let regular = (0..<600).map { Int64($0) * 1000 }
        let jittery = (0..<600).map { Int64($0) * 1000 + Int64($0 % 7) }
        let cases: [(String, [Int64], [Double], ErrorBound, Set<String>)] = [
            ("a constant", regular, Array(repeating: 21.5, count: 600), .lossless, ["model:constant"]),
            ("decimals", regular, regular.map { Double($0 % 977) / 10 }, .lossless, []),
            ("jittery timestamps", jittery, Array(repeating: 1, count: 600), .lossless, ["model:constant"]),
            (
                "widened float32s", regular, regular.map { Double(Float(88.51872 + Double($0 % 613) * 0.00037)) },
                .lossless, ["model:float32"]
            ),
        ]
        for (what, ts, values, bound, expected) in cases {
            let segments = encodeAll(ts, values, bound: bound, chunk: 16384)
            let features = FormatFeatures.of(segments: segments.map(\.bytes))
            #expect(Set(features).isSuperset(of: expected.union(["segment-v1"])), "\(what): \(features)")
            #expect(features.contains { $0.hasPrefix("timestamps:") }, "\(what): \(features)")
            #expect(features.contains { $0.hasPrefix("model:") }, "\(what): \(features)")
            #expect(Set(features).isSubset(of: FormatFeatures.readable), "\(what): \(features)")
            if expected == ["model:float32"] {  // and the coding of its views, which a reader needs as well
                let inner = features.filter {
                    $0 == "float32:ordered" || ($0.hasPrefix("model:") && $0 != "model:float32")
                }
                #expect(inner.count == 1, "\(what): \(features)")
            }
        }
        func timestampNames(_ ts: [Int64]) -> [String] {
            let segments = encodeAll(ts, ts.map(Double.init), bound: .lossless, chunk: 16384)
            return FormatFeatures.of(segments: segments.map(\.bytes)).filter { $0.hasPrefix("timestamps:") }
        }
        #expect(timestampNames(regular) != timestampNames(jittery))
    }

    @Test func bytesThatAreNotASegmentNameNothing() {
        #expect(FormatFeatures.of(segment: []).isEmpty)
        #expect(FormatFeatures.of(segment: Array("ALSG not a segment at all".utf8)).isEmpty)
        let good = encodeAll([1, 2, 3], [1, 2, 3], bound: .lossless, chunk: 16)[0].bytes
        var damaged = good
        damaged[damaged.count / 2] ^= 1
        #expect(FormatFeatures.of(segment: damaged).isEmpty)  // its checksum fails
    }

    /// Names are stable: a node compares them with what it reads, across releases.
    @Test func theNamesOfThisBuild() {
        #expect(FormatFeatures.readable.contains("segment-v1"))
        #expect(FormatFeatures.readable.contains("model:decimal"))
        #expect(FormatFeatures.readable.contains("timestamps:regular"))
        #expect(FormatFeatures.readable.contains("float32:ordered"))
        #expect(FormatFeatures.readable.contains("segment-v2"))
        #expect(FormatFeatures.readable.contains("timestamps:tableDods"))
        #expect(FormatFeatures.readable.contains("timestamps:tableSteps"))
        #expect(FormatFeatures.readable.contains("timestamps:snapped"))
        #expect(FormatFeatures.readable.count == 2 + 2 + ModelKind.allCases.count + 12)
    }

    /// Segments coded under the fast profile are version 2, and name it: a node of version 1 alone
    /// refuses the batch instead of failing to decode its streams. Compact segments stay version 1.
    @Test func theFastProfileNamesVersion2() {
        let ts = (0..<2000).map { Int64($0) * 1000 + Int64($0 % 7) }
        let values = ts.map { Double($0 % 977) / 10 }
        let fast = encodeAll(ts, values, bound: .lossless, chunk: 16384, profile: .fast)
        let features = FormatFeatures.of(segments: fast.map(\.bytes))
        #expect(features.contains("segment-v2") && !features.contains("segment-v1"), "\(features)")
        // (a jittered clock: its steps, table-coded)
        #expect(features.contains("timestamps:tableSteps"), "\(features)")
        #expect(fast.allSatisfy { $0.bytes[4] == 2 })
        let compact = encodeAll(ts, values, bound: .lossless, chunk: 16384)
        #expect(compact.allSatisfy { $0.bytes[4] == 1 })
        #expect(FormatFeatures.of(segments: compact.map(\.bytes)).contains("segment-v1"))
    }
}
