/// What a segment's value payload is: a model evaluated at each timestamp, or a codec's stream.
public enum ModelKind: UInt8, Sendable, CaseIterable, Codable, CustomStringConvertible {
    case constant = 0
    case linear = 1
    case polynomial = 2
    case sinusoid = 3
    case decimal = 4
    case xor = 5
    case lzma = 6
    case quantized = 7
    case raw = 8
    case dictionary = 9
    case significant = 10
    case lattice = 11
    case float32 = 12
    case ordinal = 13
    case interpolated = 14
    /// Consecutive segments merged under one header (`SegmentParts`).
    case parts = 15

    public var description: String {
        switch self {
        case .constant: "constant"
        case .linear: "linear"
        case .polynomial: "polynomial"
        case .sinusoid: "sinusoid"
        case .decimal: "decimal"
        case .xor: "xor"
        case .lzma: "lzma"
        case .quantized: "quantized"
        case .raw: "raw"
        case .dictionary: "dictionary"
        case .significant: "significant"
        case .lattice: "lattice"
        case .float32: "float32"
        case .ordinal: "ordinal"
        case .interpolated: "interpolated"
        case .parts: "parts"
        }
    }

    /// Models are functions of time; the rest are codecs over the value sequence.
    public var isFunction: Bool { rawValue <= ModelKind.sinusoid.rawValue }

    /// Whether the kind's payload is a grid of the bound's step, which it may leave out where the
    /// bound gives it (`QuantizedCodec.stepFromBound`, `SegmentFormat.derivedFromHeader`).
    package var codesOnBoundGrid: Bool { self == .quantized || self == .interpolated }
}

/// A closed-form model's parameters and its one evaluation routine, shared by the fitter's
/// check and the decoder so both compute the same bits.
package enum FunctionModel: Equatable {
    case constant(Double)
    case linear(a: Double, b: Double)
    case polynomial(span: Double, coefficients: [Double])
    case sinusoid(omega: Double, c: Double, a: Double, b: Double)

    static let maxDegree = 8

    package var kind: ModelKind {
        switch self {
        case .constant: .constant
        case .linear: .linear
        case .polynomial: .polynomial
        case .sinusoid: .sinusoid
        }
    }

    /// The model's value at `dt` = timestamp minus the segment's first timestamp.
    @inline(__always)
    package func evaluate(_ dt: Int64) -> Double {
        switch self {
        case .constant(let c):
            return c
        case .linear(let a, let b):
            return a + b * Double(dt)
        case .polynomial(let span, let coefficients):
            let u = Double(dt) / span
            var acc = 0.0
            for c in coefficients.reversed() { acc = acc * u + c }
            return acc
        case .sinusoid(let omega, let c, let a, let b):
            let x = omega * Double(dt)
            return c + a * _sin(x) + b * _cos(x)
        }
    }

    package func write(into w: inout ByteWriter) {
        switch self {
        case .constant(let c):
            w.f64(c)
        case .linear(let a, let b):
            w.f64(a)
            w.f64(b)
        case .polynomial(let span, let coefficients):
            w.u8(UInt8(coefficients.count - 1))
            w.f64(span)
            for c in coefficients { w.f64(c) }
        case .sinusoid(let omega, let c, let a, let b):
            for x in [omega, c, a, b] { w.f64(x) }
        }
    }

    package static func read(_ kind: ModelKind, _ r: inout ByteReader) throws(DecodeError) -> FunctionModel {
        switch kind {
        case .constant:
            return .constant(try r.f64("constant"))
        case .linear:
            return .linear(a: try r.f64("intercept"), b: try r.f64("slope"))
        case .polynomial:
            let degree = Int(try r.u8("degree"))
            guard degree <= maxDegree else { throw DecodeError("polynomial degree \(degree)", offset: r.offset - 1) }
            let span = try r.f64("span")
            guard span.isFinite, span > 0 else { throw DecodeError("polynomial span \(span)", offset: r.offset - 8) }
            var coefficients = [Double]()
            for _ in 0...degree { coefficients.append(try r.f64("coefficient")) }
            return .polynomial(span: span, coefficients: coefficients)
        case .sinusoid:
            return .sinusoid(
                omega: try r.f64("omega"), c: try r.f64("offset"), a: try r.f64("sine"), b: try r.f64("cosine"))
        default:
            throw DecodeError("\(kind) is not a function model", offset: r.offset)
        }
    }
}

// Plain libm calls; the module imports Glibc only here for them.
#if canImport(Glibc)
    internal import Glibc
    @inline(__always) func _sin(_ x: Double) -> Double { Glibc.sin(x) }
    @inline(__always) func _cos(_ x: Double) -> Double { Glibc.cos(x) }
    @inline(__always) func _log2(_ x: Double) -> Double { Glibc.log2(x) }
#else
    internal import Darwin
    @inline(__always) func _sin(_ x: Double) -> Double { Darwin.sin(x) }
    @inline(__always) func _cos(_ x: Double) -> Double { Darwin.cos(x) }
    @inline(__always) func _log2(_ x: Double) -> Double { Darwin.log2(x) }
#endif
