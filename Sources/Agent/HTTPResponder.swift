internal import NIOCore
internal import NIOHTTP1
internal import ReadAPI

/// Answers one request per connection with what `endpoints` says, then closes it.
final class HTTPResponder: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    /// A request body is kept up to this many bytes (a Prometheus API form); the rest is dropped.
    static let maxBody = PrometheusQueries.maxBody
    let endpoints: HTTPEndpoints
    private var request: HTTPRequest?
    /// A request is being answered: the idle timeout does not close the connection meanwhile.
    private var answering = false

    init(endpoints: HTTPEndpoints) { self.endpoints = endpoints }

    /// A malformed request: NIO's protocol error handler has answered 400; end the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// The idle event (see `CloseWhenIdle`, after this handler) closes the connection unless a
    /// query is still being answered (a long one reads nothing meanwhile).
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if answering && event is IdleStateHandler.IdleStateEvent { return }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = HTTPRequest(head: head)
        case .body(var part):
            guard request != nil else { return }
            if request!.body.readableBytes + part.readableBytes > HTTPResponder.maxBody {
                request!.bodyTooLarge = true
            } else {
                request!.body.writeBuffer(&part)
            }
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
                    context.write(handler.wrapOutboundOut(.body(.byteBuffer(answer.body))), promise: nil)
                }
                let channel = context.channel
                context.writeAndFlush(handler.wrapOutboundOut(.end(nil))).whenComplete { _ in
                    channel.close(promise: nil)
                }
            }
        }
    }
}
