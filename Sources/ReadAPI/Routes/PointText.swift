internal import AliceDB
internal import NIOCore

/// A scan page written as the bytes of its answer: CSV rows or JSON pairs, a million points a page
/// without a String per point.
enum PointText {
    /// `ts,value` rows after the header.
    static func csv(_ page: ScanPage) -> ByteBuffer {
        var out = [UInt8]()
        out.reserveCapacity(9 + page.timestamps.count * 24)
        out.append(contentsOf: "ts,value\n".utf8)
        for (t, v) in zip(page.timestamps, page.values) {
            appendInteger(t, to: &out)
            out.append(UInt8(ascii: ","))
            out.append(contentsOf: DoubleText.format(v).utf8)
            out.append(UInt8(ascii: "\n"))
        }
        return ByteBuffer(bytes: out)
    }

    /// `{"series": …, "points": [[t, v], …], "next": …}`.
    static func json(series: String, _ page: ScanPage) -> ByteBuffer {
        var out = [UInt8]()
        out.reserveCapacity(64 + page.timestamps.count * 26)
        out.append(contentsOf: "{\"series\": \(JSONText.quote(series)), \"points\": [".utf8)
        for (i, (t, v)) in zip(page.timestamps, page.values).enumerated() {
            out.append(contentsOf: i == 0 ? "[".utf8 : ", [".utf8)
            appendInteger(t, to: &out)
            out.append(contentsOf: ", ".utf8)
            out.append(contentsOf: JSONText.number(v).utf8)
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: "], \"next\": \(page.next.map(String.init) ?? "null")}\n".utf8)
        return ByteBuffer(bytes: out)
    }

    /// The decimal digits of `t`.
    @inline(__always)
    static func appendInteger(_ t: Int64, to out: inout [UInt8]) {
        if t < 0 { out.append(UInt8(ascii: "-")) }
        var m = t.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var i = 20
            repeat {
                i -= 1
                buf[i] = 0x30 + UInt8(m % 10)
                m /= 10
            } while m != 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[i..<20]))
        }
    }
}
