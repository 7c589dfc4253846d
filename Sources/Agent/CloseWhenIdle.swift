internal import NIOCore

/// Closes the connection on the idle event of the IdleStateHandler before it.
final class CloseWhenIdle: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
