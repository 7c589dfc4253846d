internal import NIOCore
internal import NIOHTTP1
internal import ReadAPI

/// Answers one request per connection with what `endpoints` says, then closes it.
final class HTTPResponder: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let endpoints: HTTPEndpoints
    private var request: HTTPRequest?
    /// An answer is being worked out: the idle timeout does not close the connection meanwhile.
    /// Once it is written, a client that takes none of it for the idle timeout is cut off.
    private var answering = false
    /// An answer's body goes out in parts of this many bytes (slices, not copies): each part the
    /// client takes is progress for the idle timeout, so a long answer read slowly is not cut.
    static let writePart = 64 << 10

    init(endpoints: HTTPEndpoints) { self.endpoints = endpoints }

    /// A malformed request: NIO's protocol error handler has answered 400; end the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// The idle event (see `CloseWhenIdle`, after this handler) closes the connection unless an
    /// answer is still being worked out (a long query reads and writes nothing meanwhile).
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if answering && event is IdleStateHandler.IdleStateEvent { return }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = HTTPRequest(head: head)
        case .body(let part):
            // Kept up to FormBody.maxBytes (a Prometheus API form); the rest is read and dropped.
            request?.body.append(part)
        case .end:
            guard let request else { return }
            self.request = nil
            answering = true
            let endpoints = self.endpoints
            let promise = context.eventLoop.makePromise(of: HTTPAnswer.self)
            promise.completeWithTask { await endpoints.answer(request) }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let head = request.head
            promise.futureResult.whenSuccess { answer in
                let (handler, context) = bound.value
                handler.answering = false
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: answer.contentType)
                for h in answer.headers { headers.add(name: h.name, value: h.value) }
                headers.add(name: "Content-Length", value: "\(answer.body.readableBytes)")
                headers.add(name: "Connection", value: "close")
                context.write(
                    handler.wrapOutboundOut(
                        .head(HTTPResponseHead(version: head.version, status: answer.status, headers: headers))),
                    promise: nil)
                if head.method != .HEAD {
                    var body = answer.body
                    while let part = body.readSlice(length: min(HTTPResponder.writePart, body.readableBytes)),
                        part.readableBytes > 0
                    {
                        context.write(handler.wrapOutboundOut(.body(.byteBuffer(part))), promise: nil)
                    }
                }
                let channel = context.channel
                context.writeAndFlush(handler.wrapOutboundOut(.end(nil))).whenComplete { _ in
                    channel.close(promise: nil)
                }
            }
        }
    }
}
