import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs tools/fake_hub.py (a stdlib-only stand-in for the Hugging Face Hub) on 127.0.0.1 for one test.
final class FakeHub {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("tools/fake_hub.py")

    let process = Process()
    /// Held open for the server's lifetime: it exits at EOF, so a crashed test leaves no server behind.
    private let input = Pipe()
    let port: Int
    let logURL: URL
    var endpoint: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Starts the server over the files in `root`; `extra` are fake_hub.py flags.
    init(root: URL, extra: [String] = []) async throws {
        logURL = root.deletingLastPathComponent().appendingPathComponent("requests-\(UUID().uuidString).jsonl")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script.path, "--root", root.path, "--log", logURL.path, "--exit-on-stdin-eof"] + extra
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let text = await Self.firstLine(of: output.fileHandleForReading)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else {
            kill(process.processIdentifier, SIGKILL)
            throw FakeHubError.noPort(text)
        }
        self.port = port
    }

    /// First stdout line ("PORT N"), read on a plain thread: a blocking read on one of the few
    /// cooperative threads would stall the other tests' timings.
    private static func firstLine(of handle: FileHandle) async -> String {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var line = Data()
                while !line.contains(UInt8(ascii: "\n")) {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    line.append(chunk)
                }
                continuation.resume(returning: String(decoding: line, as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
    }

    deinit {
        // SIGKILL: the test process blocks SIGTERM and children may inherit that mask. Never wait
        // here: a blocked wait would hold one of the few cooperative threads every test shares.
        kill(process.processIdentifier, SIGKILL)
        try? input.fileHandleForWriting.close()
    }

    /// Requests the server received, in order: (path, Range header).
    func requests() -> [(path: String, range: String?)] {
        guard let text = try? String(contentsOf: logURL, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let path = object["path"] as? String
            else { return nil }
            return (path, object["range"] as? String)
        }
    }
}

enum FakeHubError: Error {
    case noPort(String)
    case socket(String)
}

/// A TCP port on 127.0.0.1 that nothing listens on (bound by the OS, then closed).
func closedPort() throws -> Int {
    // The socket is closed when `bound` goes out of scope, leaving the port free and unanswered.
    let bound = try ListeningSocket(listen: false)
    return bound.port
}

/// A socket bound to 127.0.0.1 that (if `listen`) completes TCP handshakes but never answers:
/// a hub that hangs, as a black-holed network does.
final class ListeningSocket {
    let fd: Int32
    let port: Int

    init(listen shouldListen: Bool) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FakeHubError.socket("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound, !shouldListen || listen(fd, 16) == 0 else {
            close(fd)
            throw FakeHubError.socket("bind or listen")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

/// A fresh temporary folder.
func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("modelhub-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Collects fetch events from the download's delegate queue.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [FetchEventSummary] = []

    func record(_ event: FetchEventSummary) {
        lock.lock()
        storage.append(event)
        lock.unlock()
    }

    var events: [FetchEventSummary] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}

/// The parts of a FetchEvent the tests compare.
enum FetchEventSummary: Equatable {
    case listing
    case alreadyPresent(String)
    case started(String, resumedFrom: Int64)
    case progress(String)
    case finished(String)
}
