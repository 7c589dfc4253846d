internal import AliceFormat

/// A series' buffered points, in time order, packed into bytes: about 2–3 bytes a point for sensor
/// readings instead of 16. A segment's header, frame and index entry cost ~100 bytes however few
/// points it holds, so the MemTable budget buys compression: under the agent's 4 MiB with 1 000
/// series, plain arrays flushed every ~260 points (1.72 bytes/point lossless, 0.65 at 1 % of the
/// range, measured with `alicedb bench --capacity 256`), packed points several times later.
///
/// Per point, the timestamp's delta-of-delta as a zig-zag varint (one byte `0` on a regular clock),
/// then the value as one varint `u` and what it announces:
/// - `u` even: the value is exactly `Double(k) / 10^e` at the current exponent `e`, with
///   `k = previous k + ZigZag.decode(u >> 1)`;
/// - `u == 3`: a new exponent byte `e`, then `k` as a zig-zag varint (the first decimal, or one
///   with more digits than `e`);
/// - `u == 1`: the value's 8-byte bit pattern (NaN, ±inf, −0.0, binary fractions).
/// In-memory only: never written to disk, so the layout can change freely.
package struct PackedPoints {
    private(set) var bytes = ByteWriter(capacity: 0)
    private(set) var count = 0
    private var lastT: Int64 = 0, lastDelta: Int64 = 0
    private var exponent = -1
    private var lastK: Int64 = 0
    /// Finite values no exponent fitted (a series of binary fractions stops searching).
    private var misses = 0

    static let maxExponent = 15
    /// 10^0 … 10^15, each exact in a Double.
    static let powers: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ]

    package init() {}

    /// Bytes allocated.
    var allocated: Int { bytes.bytes.capacity }

    /// `k` when `v` is exactly `Double(k) / 10^e` (bit for bit) and |k| < 2^53.
    @inline(__always)
    static func integer(_ v: Double, _ e: Int) -> Int64? {
        let scaled = v * powers[e]
        guard abs(scaled) < 9.0e15 else { return nil }
        let k = Int64(scaled.rounded())
        return (Double(k) / powers[e]).bitPattern == v.bitPattern ? k : nil
    }

    /// Appends a point no earlier than the last one.
    package mutating func append(_ t: Int64, _ v: Double) {
        let delta = t &- lastT
        bytes.svarint(delta &- lastDelta)
        lastT = t
        lastDelta = delta
        count += 1
        if exponent >= 0, let k = Self.integer(v, exponent) {
            bytes.varint(ZigZag.encode(k &- lastK) << 1)
            lastK = k
            return
        }
        if v.isFinite && misses < 16 {
            for e in 0...Self.maxExponent where e != exponent {
                guard let k = Self.integer(v, e) else { continue }
                bytes.varint(3)
                bytes.u8(UInt8(e))
                bytes.svarint(k)
                exponent = e
                lastK = k
                return
            }
            misses += 1
        }
        bytes.varint(1)
        bytes.f64(v)
    }

    /// Calls `body` with every point in order.
    package func forEach(_ body: (Int64, Double) -> Void) {
        bytes.bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            var t: Int64 = 0
            var delta: Int64 = 0
            var k: Int64 = 0
            var e = 0
            do throws(DecodeError) {
                for _ in 0..<count {
                    delta = delta &+ (try r.svarint())
                    t = t &+ delta
                    let u = try r.varint()
                    let v: Double
                    if u & 1 == 0 {
                        k = k &+ ZigZag.decode(u >> 1)
                        v = Double(k) / Self.powers[e]
                    } else if u == 3 {
                        e = Int(try r.u8())
                        k = try r.svarint()
                        v = Double(k) / Self.powers[e]
                    } else {
                        v = try r.f64()
                    }
                    body(t, v)
                }
            } catch {
                preconditionFailure("packed points unreadable (only append writes them): \(error)")
            }
        }
    }

    /// Appends every point to `ts` and `values`.
    package func unpack(into ts: inout [Int64], _ values: inout [Double]) {
        ts.reserveCapacity(ts.count + count)
        values.reserveCapacity(values.count + count)
        forEach { t, v in
            ts.append(t)
            values.append(v)
        }
    }

    /// Empties it; keeps its storage unless asked to release it.
    package mutating func clear(release: Bool) {
        if release { bytes = ByteWriter(capacity: 0) } else { bytes.bytes.removeAll(keepingCapacity: true) }
        count = 0
        lastT = 0
        lastDelta = 0
        exponent = -1
        lastK = 0
        misses = 0
    }
}
