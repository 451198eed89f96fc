import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Per connection, beside Hummingbird's idle timeout:
/// - a request's body must arrive within `requestTimeout` of its headers, else the connection closes;
/// - after a 413 (a body refused before it was read), the rest of that body is read and dropped, so
///   a client still sending it gets to read the answer, then the connection closes (as nginx's
///   lingering close), after `linger` at the latest.
final class ConnectionLimits: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let requestTimeout: TimeAmount
    let linger: TimeAmount
    private var requestDeadline: Scheduled<Void>?
    private var lingerDeadline: Scheduled<Void>?
    /// The request being read got a 413: drop its body, close when it ends.
    private var refusing = false
    private var requestEnded = true
    private var responseEnded = false

    init(requestTimeout: TimeAmount, linger: TimeAmount = .seconds(10)) {
        self.requestTimeout = requestTimeout
        self.linger = linger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestEnded = false
            requestDeadline?.cancel()
            requestDeadline = context.eventLoop.scheduleTask(in: requestTimeout) { context.close(promise: nil) }
            context.fireChannelRead(data)
        case .body:
            if !refusing { context.fireChannelRead(data) }
        case .end:
            requestEnded = true
            requestDeadline?.cancel()
            context.fireChannelRead(data)
            if refusing && responseEnded { context.close(promise: nil) }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
        // Keep reading what is dropped: the async channel behind us may have stopped asking.
        if refusing && !requestEnded { context.read() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status == .contentTooLarge && !requestEnded:
            refusing = true
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where refusing:
            responseEnded = true
            context.write(data, promise: promise)
            context.flush()
            if requestEnded {
                context.close(promise: nil)
            } else {
                lingerDeadline = context.eventLoop.scheduleTask(in: linger) { context.close(promise: nil) }
                context.read()
            }
        default:
            context.write(data, promise: promise)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        requestDeadline?.cancel()
        lingerDeadline?.cancel()
        context.fireChannelInactive()
    }
}
