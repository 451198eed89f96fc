import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection to 127.0.0.1 that sends exactly the bytes given, for requests URLSession will
/// not make (a foreign Host, a half-sent request, a body sent before reading the answer).
final class RawConnection {
    private let fd: Int32

    /// Connects, with send and receive timeouts of `timeout` seconds (so a test fails, not hangs).
    init(port: UInt16, timeout: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawError.system("socket") }
        var time = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw RawError.system("connect") }
    }

    deinit { close(fd) }

    enum RawError: Error { case system(String), timedOut, closed }

    /// Sends all of `bytes`; throws `.timedOut` when the peer stops reading, `.closed` when it hung up.
    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw errno == EAGAIN || errno == EWOULDBLOCK ? RawError.timedOut : RawError.closed
            }
            sent += n
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Everything until the peer closes (or `.timedOut`).
    func readToClose() throws -> String {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n == 0 { return String(decoding: all, as: UTF8.self) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == ECONNRESET { return String(decoding: all, as: UTF8.self) }
                throw RawError.timedOut
            }
            all += buffer[0..<n]
        }
    }

    /// One request with `Connection: close`; the whole answer.
    static func exchange(port: UInt16, _ request: String) throws -> String {
        let connection = try RawConnection(port: port)
        try connection.send(request)
        return try connection.readToClose()
    }
}
