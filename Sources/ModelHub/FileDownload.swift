import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// What happens during a fetch, for a progress display. The library prints nothing itself.
public enum FetchEvent: Sendable {
    /// The file listing is being requested.
    case listing(URL)
    /// The file is already in the destination with the published checksum.
    case alreadyPresent(HubFile)
    /// Bytes start to flow; `resumedFrom` > 0 when a `.part` file is continued with a Range request.
    case started(HubFile, resumedFrom: Int64)
    /// `received` bytes of the file are on disk (counting resumed bytes).
    case progress(HubFile, received: Int64)
    /// Checksum matched and the file was renamed into place.
    case finished(HubFile)
}

public typealias FetchProgress = @Sendable (FetchEvent) -> Void

/// How one attempt at downloading a file ended.
enum AttemptOutcome: Sendable {
    /// All bytes arrived and matched the checksum; the `.part` file is complete.
    case complete
    /// The server ignored or refused our Range (200 or 416): the `.part` was reset, try again from 0.
    case restart
    /// The connection failed before any response, as when the hub is unreachable.
    case unreachable(String)
    case failed(ModelHubError, bytesThisAttempt: Int64)
}

/// Streams one file into `partURL`, resuming from the bytes already there, hashing as it writes.
/// State is touched only on the session's serial delegate queue, hence `@unchecked Sendable`.
final class FileDownload: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let file: HubFile
    private let url: URL
    private let partURL: URL
    private let progress: FetchProgress
    private let idleTimeout: TimeInterval

    private var offset: Int64 = 0
    private var received: Int64 = 0
    private var bytesThisAttempt: Int64 = 0
    private var checksum: StreamingChecksum
    private var handle: FileHandle?
    private var gotResponse = false
    private var outcome: AttemptOutcome?
    private var continuation: CheckedContinuation<AttemptOutcome, Never>?

    init(file: HubFile, url: URL, partURL: URL, idleTimeout: TimeInterval, progress: @escaping FetchProgress) {
        self.file = file
        self.url = url
        self.partURL = partURL
        self.idleTimeout = idleTimeout
        self.progress = progress
        self.checksum = StreamingChecksum(expected: file.checksum, size: file.size)
    }

    /// One attempt: prepares the `.part` (hashing what is already there), then requests the rest.
    func run() async -> AttemptOutcome {
        do {
            try preparePartFile()
        } catch {
            return .failed(error, bytesThisAttempt: 0)
        }
        if offset == file.size {
            // A complete `.part` left by an interrupted run: only the checksum is left to check.
            return finish()
        }

        var ranged = URLRequest(url: url)
        if offset > 0 { ranged.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
        let request = ranged
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = idleTimeout
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<AttemptOutcome, Never>) in
            queue.addOperation {
                self.continuation = continuation
                session.dataTask(with: request).resume()
            }
        }
        session.finishTasksAndInvalidate()
        return result
    }

    // MARK: - Part file

    private func preparePartFile() throws(ModelHubError) {
        var existing = fileSize(partURL) ?? 0
        if existing > file.size {
            // Not a prefix of this file (it changed on the hub, or the part is junk): start over.
            removePart()
            existing = 0
        }
        offset = existing
        if offset > 0 { try checksum.update(contentsOf: partURL, length: offset) }
        received = offset
    }

    private func removePart() {
        try? FileManager.default.removeItem(at: partURL)
    }

    private func openPart(truncate: Bool) throws(ModelHubError) {
        if truncate || !FileManager.default.fileExists(atPath: partURL.path) {
            guard FileManager.default.createFile(atPath: partURL.path, contents: nil) else {
                throw .fileSystem(path: partURL.path, reason: "cannot create")
            }
        }
        do {
            let handle = try FileHandle(forWritingTo: partURL)
            try handle.truncate(atOffset: UInt64(offset))
            try handle.seekToEnd()
            self.handle = handle
        } catch {
            throw .fileSystem(path: partURL.path, reason: "cannot open for writing: \(error.localizedDescription)")
        }
    }

    /// Called once all bytes are on disk: checks size and checksum; a mismatch deletes the `.part`.
    private func finish() -> AttemptOutcome {
        guard received == file.size else {
            return .failed(.sizeMismatch(file: file.path, expected: file.size, actual: received),
                bytesThisAttempt: bytesThisAttempt)
        }
        let actual = checksum.finalizedHex()
        guard actual == file.checksum.hex.lowercased() else {
            removePart()
            return .failed(
                .checksumMismatch(file: file.path, algorithm: file.checksum.algorithm,
                    expected: file.checksum.hex, actual: actual),
                bytesThisAttempt: bytesThisAttempt)
        }
        return .complete
    }

    // MARK: - URLSession delegate (serial delegate queue)

    private func end(_ result: AttemptOutcome, cancelling task: URLSessionTask? = nil) {
        guard outcome == nil else { return }
        outcome = result
        task?.cancel()
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        // LFS files redirect to a CDN; the Range must go along or a resume would start over.
        var redirected = request
        if offset > 0 { redirected.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
        completionHandler(redirected)
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        gotResponse = true
        guard let http = response as? HTTPURLResponse else {
            end(.failed(.badListing(url: url, reason: "not an HTTP response"), bytesThisAttempt: 0))
            return completionHandler(.cancel)
        }
        do {
            switch http.statusCode {
            case 206 where offset > 0:
                let range = http.value(forHTTPHeaderField: "Content-Range") ?? ""
                guard range.hasPrefix("bytes \(offset)-") else {
                    // Not the range we asked for: start over rather than splice the wrong bytes.
                    try restartFromZero()
                    end(.restart)
                    return completionHandler(.cancel)
                }
                try openPart(truncate: false)
            case 200:
                // A full body: any earlier bytes are replaced.
                if offset > 0 { try restartFromZero() }
                try openPart(truncate: true)
            case 416:
                try restartFromZero()
                end(.restart)
                return completionHandler(.cancel)
            default:
                end(.failed(.httpStatus(url: http.url ?? url, status: http.statusCode), bytesThisAttempt: 0))
                return completionHandler(.cancel)
            }
        } catch {
            end(.failed(error, bytesThisAttempt: 0))
            return completionHandler(.cancel)
        }
        progress(.started(file, resumedFrom: offset))
        completionHandler(.allow)
    }

    private func restartFromZero() throws(ModelHubError) {
        offset = 0
        received = 0
        checksum = StreamingChecksum(expected: file.checksum, size: file.size)
        removePart()
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard outcome == nil, let handle else { return }
        do {
            try handle.write(contentsOf: data)
        } catch {
            return end(.failed(.fileSystem(path: partURL.path, reason: "write failed: \(error.localizedDescription)"),
                bytesThisAttempt: bytesThisAttempt), cancelling: dataTask)
        }
        checksum.update(data)
        received += Int64(data.count)
        bytesThisAttempt += Int64(data.count)
        if received > file.size {
            return end(.failed(.sizeMismatch(file: file.path, expected: file.size, actual: received),
                bytesThisAttempt: bytesThisAttempt), cancelling: dataTask)
        }
        progress(.progress(file, received: received))
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        if let handle {
            // Flush to disk before a resume could trust these bytes or a rename could publish them.
            try? handle.synchronize()
            try? handle.close()
            self.handle = nil
        }
        if outcome == nil {
            if let error {
                if !gotResponse {
                    outcome = .unreachable(describeTransportError(error))
                } else {
                    outcome = .failed(
                        .transferInterrupted(file: file.path, received: received, expected: file.size,
                            reason: describeTransportError(error)),
                        bytesThisAttempt: bytesThisAttempt)
                }
            } else if received < file.size {
                outcome = .failed(
                    .transferInterrupted(file: file.path, received: received, expected: file.size,
                        reason: "the server closed the connection early"),
                    bytesThisAttempt: bytesThisAttempt)
            } else {
                outcome = finish()
            }
        }
        continuation?.resume(returning: outcome ?? .restart)
        continuation = nil
    }
}

/// Moves `from` onto `to` in one step (POSIX rename replaces an existing file atomically).
func atomicRename(_ from: URL, to: URL) throws(ModelHubError) {
    guard rename(from.path, to.path) == 0 else {
        throw .fileSystem(path: to.path, reason: "cannot rename \(from.lastPathComponent) into place: "
            + String(cString: strerror(errno)))
    }
}
