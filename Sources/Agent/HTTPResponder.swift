internal import NIOCore
internal import NIOHTTP1

/// Answers one request per connection with what `endpoints` says, then closes it.
final class HTTPResponder: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let endpoints: HTTPEndpoints
    private var request: HTTPRequestHead?

    init(endpoints: HTTPEndpoints) { self.endpoints = endpoints }

    /// A malformed request: NIO's protocol error handler has answered 400; end the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            let endpoints = self.endpoints
            let promise = context.eventLoop.makePromise(of: (HTTPResponseStatus, String, String).self)
            promise.completeWithTask { await endpoints.answer(head) }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { status, type, body in
                let (handler, context) = bound.value
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: type)
                headers.add(name: "Content-Length", value: "\(body.utf8.count)")
                headers.add(name: "Connection", value: "close")
                context.write(
                    handler.wrapOutboundOut(
                        .head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
                if head.method != .HEAD {
                    context.write(handler.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
                }
                let channel = context.channel
                context.writeAndFlush(handler.wrapOutboundOut(.end(nil))).whenComplete { _ in
                    channel.close(promise: nil)
                }
            }
        }
    }
}
