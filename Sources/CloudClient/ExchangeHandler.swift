internal import NIOCore
internal import NIOHTTP1

/// The last handler of an `HTTPTransport` connection: writes one request and completes its promise
/// with the whole answer; one request at a time.
final class ExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Request
    typealias OutboundOut = HTTPClientRequestPart

    struct Request: Sendable {
        var head: HTTPRequestHead
        var body: ByteBuffer?
        var maxBytes: Int
        var answer: EventLoopPromise<Outcome>
    }

    struct Outcome: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: ByteBuffer
        /// The connection may carry another request.
        var keepAlive: Bool
    }

    private var pending: Request?
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard pending == nil else {
            request.answer.fail(TransportError("a request is already in flight on this connection", beforeAnswer: true))
            promise?.fail(ChannelError.inappropriateOperationForState)
            return
        }
        guard context.channel.isActive else {
            request.answer.fail(TransportError("the connection is closed", beforeAnswer: true))
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        (pending, head, body) = (request, nil, nil)
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        if let b = request.body, b.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(b))), promise: nil)
        }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let request = pending else { return }  // nothing asked: ignored, the connection is not reused
        switch unwrapInboundIn(data) {
        case .head(let h):
            // 1xx answers (100 Continue) are not the answer.
            if h.status.code >= 100 && h.status.code < 200 { return }
            head = h
            body = context.channel.allocator.buffer(capacity: 0)
        case .body(var part):
            guard head != nil else { return }
            if (body?.readableBytes ?? 0) + part.readableBytes > request.maxBytes {
                finish(.failure(TransportError("the answer is longer than \(request.maxBytes) bytes")))
                context.close(promise: nil)
                return
            }
            body?.writeBuffer(&part)
        case .end:
            guard let h = head else { return }
            finish(
                .success(
                    Outcome(
                        status: Int(h.status.code), headers: h.headers,
                        body: body ?? context.channel.allocator.buffer(capacity: 0), keepAlive: h.isKeepAlive)))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(TransportError("the connection closed before the answer", beforeAnswer: head == nil)))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(TransportError("the connection failed", beforeAnswer: head == nil, cause: error)))
        context.close(promise: nil)
    }

    private func finish(_ result: Result<Outcome, any Error>) {
        guard let request = pending else { return }
        (pending, head, body) = (nil, nil, nil)
        request.answer.completeWith(result)
    }
}
