import PropertyBased
import TestSupport
import Testing

@testable import AliceDB
@testable import AliceFormat

@Suite struct DoubleTextTests {
    func parse(_ s: String) -> Double? {
        Array(s.utf8).withUnsafeBufferPointer { DoubleText.parse(bytes: $0) }
    }

    /// The fast decimal path gives exactly what the standard library's parser gives.
    @Test func fastPathMatchesStandardParser() async {
        await propertyCheck(
            count: 3000, input: Gen.int64(in: -999_999_999_999_999...999_999_999_999_999), Gen.int(in: 0...18)
        ) { k, e in
            await Task.yield()  // one case at a time: parallel suites share the two pool threads
            var digits = String(k.magnitude)
            if e > 0 {
                if digits.count <= e { digits = String(repeating: "0", count: e - digits.count + 1) + digits }
                digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -e))
            }
            let text = (k < 0 ? "-" : "") + digits
            #expect(parse(text)?.bitPattern == Double(text)?.bitPattern, "\(text)")
        }
    }

    @Test func specialForms() {
        for text in [
            "-0", "-0.0", "1e-7", "1.2345678901234568e+17", "inf", "-inf", "nan", " 2.5 ", "0.1",
            "12345678901234567890.5",
        ] {
            let expected = DoubleText.parse(text.trimmingCharacters(in: " "))
            #expect(parse(text)?.bitPattern == expected?.bitPattern, "\(text)")
        }
        // The string form trims blanks as the byte form does (payload fields and query arguments use it).
        for text in [" 4.5", "4.5 ", "\t-inf ", " nan:0x7ff800000000beef "] {
            #expect(DoubleText.parse(text)?.bitPattern == parse(text)?.bitPattern, "\(text)")
            #expect(DoubleText.parse(text) != nil, "\(text)")
        }
        #expect(DoubleText.parse("  ") == nil && DoubleText.parse("") == nil)
        func timestamp(_ s: String) -> Int64? {
            Array(s.utf8).withUnsafeBufferPointer { DoubleText.parseTimestamp(bytes: $0) }
        }
        #expect(timestamp(" 1262304000000 ") == 1_262_304_000_000)
        #expect(timestamp("1262304000000.0") == 1_262_304_000_000 && timestamp("1.2623e12") == 1_262_300_000_000)
        #expect(timestamp("-9223372036854775808") == Int64.min)
        #expect(
            timestamp("1262304000000.5") == nil && timestamp("1e19") == nil && timestamp("nan") == nil
                && timestamp("") == nil)
        #expect(parse("-0")?.sign == .minus)
        #expect(parse("abc") == nil)
        #expect(parse("1e400") == nil)  // overflow is an error, not infinity
        #expect(parse("") == nil)
        let payload = Double(bitPattern: 0x7FF8_0000_0000_BEEF)
        #expect(parse(DoubleText.format(payload))?.bitPattern == payload.bitPattern)
        #expect(Array("9223372036854775808".utf8).withUnsafeBufferPointer { DoubleText.parseInteger(bytes: $0) } == nil)
        #expect(
            Array("-9223372036854775808".utf8).withUnsafeBufferPointer { DoubleText.parseInteger(bytes: $0) } == .min)
    }
}
