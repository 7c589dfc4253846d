extension SegmentBatch {
    /// A batch encoded entry by entry straight into its bytes: what a gateway sends, built without
    /// an array per segment, a second copy for the encoding, or a set per segment for its features.
    ///
    /// Its entry count is a varint padded to three bytes (LEB128 allows it, and every reader of
    /// this format reads it), written when the batch is finished; so the bytes differ from
    /// `encode()`'s for the same entries, and decode to the same batch.
    public struct Builder: Sendable {
        private var writer: ByteWriter
        /// Entries so far.
        public private(set) var count = 0
        private var featureKeys = Set<FormatFeatures.Key>()
        private static let countOffset = 8

        /// - Parameter capacity: the bytes to reserve: about the batch's size.
        public init(capacity: Int) {
            writer = ByteWriter(capacity: 16 + capacity)
            SegmentBatch.writeHead(&writer)
            writer.append([0x80, 0x80, 0x00])  // the entry count, three bytes; `finish` writes it
        }

        /// Bytes of the finished batch so far (its checksum included).
        public var byteCount: Int { writer.count + 4 }

        /// Appends one entry.
        /// - Parameters:
        ///   - series: the series' name.
        ///   - bound: its error bound.
        ///   - segment: the segment, as stored.
        public mutating func append(series: String, bound: ErrorBound, segment: UnsafeRawBufferPointer) {
            precondition(count < SegmentBatch.maxEntries, "a batch holds at most maxEntries segments")
            SegmentBatch.writeEntry(&writer, series: series, bound: bound, segment: segment)
            if let key = FormatFeatures.key(of: segment) { featureKeys.insert(key) }
            count += 1
        }

        /// The format features of the segments so far, sorted (`X-AliceDB-Features`).
        public var features: [String] { FormatFeatures.names(featureKeys) }

        /// The encoded batch.
        public consuming func finish() -> [UInt8] {
            var n = UInt32(count)
            for i in 0..<3 {
                writer.bytes[Builder.countOffset + i] = UInt8(n & 0x7F) | (i < 2 ? 0x80 : 0)
                n >>= 7
            }
            writer.u32(CRC32C.checksum(writer.bytes))
            return writer.bytes
        }
    }
}
