internal import NIOCore
internal import NIOHTTP1

/// The last handler of an `HTTPTransport` connection: writes one request and completes its promise
/// with the whole answer; one request at a time.
///
/// The body goes out in chunks, the next one copied only once the last is written: a gateway's
/// batch (a megabyte by default) is never held twice in memory.
final class ExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Request
    typealias OutboundOut = HTTPClientRequestPart

    struct Request: Sendable {
        var head: HTTPRequestHead
        var body: [UInt8]
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
    /// The request's body is still being written: an answer that comes first (a 413) leaves the
    /// connection in the middle of a request, not fit for the next one.
    private var sending = false

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
        (pending, head, body, sending) = (request, nil, nil, true)
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        writeBody(context: context, request.body, from: 0, promise: promise)
    }

    /// Bytes of the body copied into one write.
    static let chunkBytes = 64 << 10

    /// Writes `bytes[from...]`, a chunk at a time, then the end of the request.
    private func writeBody(
        context: ChannelHandlerContext, _ bytes: [UInt8], from: Int, promise: EventLoopPromise<Void>?
    ) {
        guard from < bytes.count else {
            sending = false
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
            return
        }
        let to = min(bytes.count, from + ExchangeHandler.chunkBytes)
        var chunk = context.channel.allocator.buffer(capacity: to - from)
        chunk.writeBytes(bytes[from..<to])
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(chunk)))).whenComplete { result in
            switch result {
            case .success: bound.value.0.writeBody(context: bound.value.1, bytes, from: to, promise: promise)
            case .failure(let error): promise?.fail(error)
            }
        }
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
                        body: body ?? context.channel.allocator.buffer(capacity: 0),
                        keepAlive: h.isKeepAlive && !sending)))
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
