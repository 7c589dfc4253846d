import Testing

@testable import AliceFormat

/// Errors say what went wrong in the input, why (the error underneath) and where they were raised.
@Suite struct ErrorTests {
    @Test func aBadBatchNamesItsByteItsCauseAndItsSource() throws {
        let garbage: [UInt8] = Array("ALBTnot a batch at all".utf8)
        let error = #expect(throws: AliceDBError.self) { try SegmentBatch.decode(garbage) }
        #expect(error?.code == .badInput)
        #expect(error?.offset != nil)
        #expect(error?.cause is DecodeError)
        #expect(error?.location.fileID == "AliceFormat/SegmentBatch.swift")
        #expect(error?.debugDescription.contains("cause: ") == true)
        // The one line a user sees stays free of source locations.
        #expect(error?.description.contains(".swift") == false)
    }

    @Test func locationIsTheThrowSite() {
        let e = AliceDBError(.io, "x")
        #expect(e.location.fileID == "AliceFormatTests/ErrorTests.swift")
        #expect(e.location.line == #line - 2)
    }
}
