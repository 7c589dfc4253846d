internal import Hummingbird
internal import NIOCore

/// The bodies the node answers with, so that every route handler sets the same content types.
enum Reply {
    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func csv(_ text: String, headers: HTTPFields = [:]) -> Response {
        csv(ByteBuffer(string: text), headers: headers)
    }

    static func json(_ body: ByteBuffer) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    static func csv(_ body: ByteBuffer, headers: HTTPFields = [:]) -> Response {
        var h = headers
        h[.contentType] = "text/csv"
        return Response(status: .ok, headers: h, body: .init(byteBuffer: body))
    }
}
