extension Array where Element: BitwiseCopyable {
    /// Appends `n` elements that `body` writes, every one of them, through a pointer to the first:
    /// a decoder's output without a pass that zeroes it first (into an empty array, as decoders
    /// mostly append, without a copy either).
    /// - Returns: what `body` returns.
    @inline(__always)
    mutating func appendUninitialized<R>(count n: Int, _ body: (UnsafeMutablePointer<Element>) throws -> R) rethrows
        -> R
    {
        if isEmpty && n > 0 {
            var result: R? = nil
            self = try Array(unsafeUninitializedCapacity: n) { buffer, initialized in
                result = try body(buffer.baseAddress!)
                initialized = n
            }
            return result!
        }
        return try withUnsafeTemporaryAllocation(of: Element.self, capacity: Swift.max(n, 1)) { tmp in
            let result = try body(tmp.baseAddress!)
            append(contentsOf: UnsafeBufferPointer(rebasing: tmp[0..<n]))
            return result
        }
    }
}
