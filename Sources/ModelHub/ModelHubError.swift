import Foundation

/// Every error the ModelHub module throws. Messages name the file, URL or folder involved, and the
/// offline case says exactly what to download by hand and where to put it.
public enum ModelHubError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The hub could not be reached at all (DNS failure, refused connection, timeout). `manual` lists
    /// what to fetch by hand instead.
    case hubUnreachable(url: URL, reason: String, manual: ManualDownload)
    /// The hub answered with an HTTP error status.
    case httpStatus(url: URL, status: Int)
    /// The hub's file listing was not the JSON we expect.
    case badListing(url: URL, reason: String)
    /// A file the model folder needs is not in the repository.
    case missingInRepository(repo: String, revision: String, files: [String])
    /// The transfer stopped before all bytes arrived (connection dropped, timeout mid-file).
    case transferInterrupted(file: String, received: Int64, expected: Int64, reason: String)
    /// The downloaded bytes do not hash to the published checksum; the `.part` file was deleted.
    case checksumMismatch(file: String, algorithm: String, expected: String, actual: String)
    /// More or fewer bytes than the listing announced.
    case sizeMismatch(file: String, expected: Int64, actual: Int64)
    /// Another fetch is writing into the same folder.
    case destinationBusy(path: String)
    /// Reading or writing a local file failed.
    case fileSystem(path: String, reason: String)

    public var description: String {
        switch self {
        case .hubUnreachable(let url, let reason, let manual):
            return "cannot reach the model hub at \(url.absoluteString) (\(reason)). \(manual.instructions)"
        case .httpStatus(let url, let status):
            let hint = (status == 401 || status == 403) ? " (the repository is gated or private)" : ""
            return "HTTP \(status) from \(url.absoluteString)\(hint)"
        case .badListing(let url, let reason):
            return "unexpected file listing from \(url.absoluteString): \(reason)"
        case .missingInRepository(let repo, let revision, let files):
            return "\(repo)@\(revision) has no \(files.joined(separator: ", ")) (a model folder needs them)"
        case .transferInterrupted(let file, let received, let expected, let reason):
            return "download of \(file) stopped at \(received) of \(expected) bytes (\(reason)); "
                + "run again to resume from the .part file"
        case .checksumMismatch(let file, let algorithm, let expected, let actual):
            return "\(file): \(algorithm) is \(actual), the hub publishes \(expected); "
                + "the download was deleted, run again to fetch it anew"
        case .sizeMismatch(let file, let expected, let actual):
            return "\(file): got \(actual) bytes, the hub lists \(expected)"
        case .destinationBusy(let path):
            return "another fetch-model is downloading into \(path); wait for it or choose another --dest"
        case .fileSystem(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}

/// What a user without network access to the hub must fetch by hand, and where it goes.
public struct ManualDownload: Equatable, Sendable {
    /// Direct download URLs, one per file.
    public let urls: [URL]
    /// The folder the files belong in.
    public let destination: URL

    public init(urls: [URL], destination: URL) {
        self.urls = urls
        self.destination = destination
    }

    /// One line (CLI errors are one line on stderr), every URL in full so it can be pasted into curl.
    public var instructions: String {
        let list = urls.map(\.absoluteString).joined(separator: " ")
        return "Download by hand: \(list) and put them in \(destination.path)/"
    }
}
