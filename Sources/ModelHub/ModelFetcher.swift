import Foundation

/// Downloads the files a model folder needs from a hub repository into `destination`: lists them
/// with their checksums, skips those already present and intact, resumes `.part` files with HTTP
/// Range, verifies every byte against the published checksum, and renames into place only then.
public struct ModelFetcher: Sendable {
    /// What an engine needs to load a CLIP model in the Hugging Face layout.
    public static let requiredFiles = ["config.json", "model.safetensors", "vocab.json", "merges.txt"]
    /// Small tokenizer and preprocessor files, fetched when the repository has them.
    public static let optionalFiles = [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "preprocessor_config.json",
    ]

    public var repository: HubRepository
    public var destination: URL
    public var requiredFiles: [String]
    public var optionalFiles: [String]
    public var client: HubClient
    /// Revisions to name in the by-hand instructions for files that are not on `repository.revision`
    /// (when offline the conversion pull request cannot be looked up).
    public var manualRevisions: [String: String]
    /// Seconds without a byte before a file transfer counts as interrupted.
    public var idleTimeout: TimeInterval
    /// Consecutive attempts per file that may each resume after an interruption, as long as every
    /// attempt makes progress. An unreachable hub is never retried.
    public var maxAttempts: Int

    public init(
        repository: HubRepository, destination: URL,
        requiredFiles: [String] = ModelFetcher.requiredFiles, optionalFiles: [String] = ModelFetcher.optionalFiles,
        client: HubClient = HubClient(), idleTimeout: TimeInterval = 30, maxAttempts: Int = 4,
        manualRevisions: [String: String] = [:]
    ) {
        self.manualRevisions = manualRevisions
        self.repository = repository
        self.destination = destination
        self.requiredFiles = requiredFiles
        self.optionalFiles = optionalFiles
        self.client = client
        self.idleTimeout = idleTimeout
        self.maxAttempts = maxAttempts
    }

    /// The by-hand route for the files not yet in place.
    public func manualDownload(for names: [String]? = nil) -> ManualDownload {
        ManualDownload(
            urls: (names ?? requiredFiles).map { name in
                repository.at(revision: manualRevisions[name] ?? repository.revision).resolveURL(for: name)
            },
            destination: destination)
    }

    /// A file in the destination folder and whether this run downloaded it.
    public struct Result: Equatable, Sendable {
        public let file: HubFile
        public let localURL: URL
        public let downloaded: Bool
    }

    public func fetch(progress: @escaping FetchProgress = { _ in }) async throws(ModelHubError) -> [Result] {
        progress(.listing(repository.treeURL))
        let listed = try await client.listFiles(repository, manual: manualDownload())
        // Where each file comes from: the requested revision, or the safetensors conversion branch.
        var sources = Dictionary(listed.map { ($0.path, ($0, repository)) }, uniquingKeysWith: { first, _ in first })
        if sources["model.safetensors"] == nil, requiredFiles.contains("model.safetensors"),
            let branch = try await client.safetensorsConversionBranch(repository, manual: manualDownload())
        {
            let converted = repository.at(revision: branch)
            progress(.listing(converted.treeURL))
            let weights = try await client.listFiles(converted, manual: manualDownload()).first {
                $0.path == "model.safetensors"
            }
            if let weights { sources["model.safetensors"] = (weights, converted) }
        }
        let missing = requiredFiles.filter { sources[$0] == nil }
        guard missing.isEmpty else {
            throw .missingInRepository(repo: repository.id, revision: repository.revision, files: missing)
        }
        let wanted = (requiredFiles + optionalFiles).compactMap { sources[$0] }

        do {
            try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        } catch {
            throw .fileSystem(path: destination.path, reason: "cannot create folder: \(error.localizedDescription)")
        }
        let lock = try FolderLock(destination)
        defer { withExtendedLifetime(lock) {} }

        var results: [Result] = []
        for (index, (file, source)) in wanted.enumerated() {
            let local = destination.appendingPathComponent(file.path)
            if try fileMatches(local, file) {
                progress(.alreadyPresent(file))
                results.append(Result(file: file, localURL: local, downloaded: false))
                continue
            }
            let remaining = wanted[index...].map(\.0.path)
            try await download(file, from: source.resolveURL(for: file.path), to: local, remaining: remaining,
                progress: progress)
            progress(.finished(file))
            results.append(Result(file: file, localURL: local, downloaded: true))
        }
        return results
    }

    /// Downloads into `NAME.part`, retrying with Range while attempts make progress, then renames.
    private func download(
        _ file: HubFile, from url: URL, to local: URL, remaining: [String], progress: @escaping FetchProgress
    ) async throws(ModelHubError) {
        let part = local.appendingPathExtension("part")
        var attemptsLeft = maxAttempts
        while true {
            attemptsLeft -= 1
            let attempt = FileDownload(file: file, url: url, partURL: part, idleTimeout: idleTimeout, progress: progress)
            switch await attempt.run() {
            case .complete:
                try atomicRename(part, to: local)
                return
            case .restart where attemptsLeft > 0:
                continue
            case .restart:
                throw .transferInterrupted(file: file.path, received: 0, expected: file.size,
                    reason: "the server would not serve the byte range asked for")
            case .unreachable(let reason):
                throw .hubUnreachable(url: url, reason: reason, manual: manualDownload(for: remaining))
            case .failed(let error, let bytes):
                guard case .transferInterrupted = error, bytes > 0, attemptsLeft > 0 else { throw error }
            }
        }
    }
}
