/// A series' error bound: how far a stored value may be from the value that was written.
///
/// Both parts zero means lossless: values come back with identical bits (NaN payloads, -0.0,
/// ±inf included). Otherwise each value `v` may move by `max(absolute, relativePercent/100·|v|)`;
/// NaN and ±inf are always kept exactly.
public struct ErrorBound: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Largest allowed absolute error, in the value's unit.
    public var absolute: Double
    /// Largest allowed error as a percentage of each value.
    public var relativePercent: Double

    public init(absolute: Double = 0, relativePercent: Double = 0) {
        self.absolute = absolute.isFinite && absolute > 0 ? absolute : 0
        self.relativePercent = relativePercent.isFinite && relativePercent > 0 ? relativePercent : 0
    }

    public static let lossless = ErrorBound()

    public var isLossless: Bool { absolute == 0 && relativePercent == 0 }

    /// The error allowed at `v` (0 for non-finite values, which are always stored exactly).
    @inline(__always)
    public func allowed(_ v: Double) -> Double {
        guard v.isFinite else { return 0 }
        if relativePercent == 0 { return absolute }
        return max(absolute, relativePercent / 100 * abs(v))
    }

    /// Whether `stored` is an acceptable reconstruction of `original`.
    @inline(__always)
    public func accepts(original: Double, stored: Double) -> Bool {
        if original.bitPattern == stored.bitPattern { return true }
        if isLossless || !original.isFinite || !stored.isFinite { return false }
        return abs(stored - original) <= allowed(original)
    }

    public var description: String {
        if isLossless { return "lossless" }
        if relativePercent == 0 { return "±\(absolute)" }
        if absolute == 0 { return "±\(relativePercent)%" }
        return "±max(\(absolute), \(relativePercent)%)"
    }
}
