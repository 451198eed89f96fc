import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import ModelHub

/// Fetches against tools/fake_hub.py on 127.0.0.1: full download, resume, checksum mismatch, offline.
@Suite struct ModelFetcherTests {
    let root: URL
    let destination: URL
    /// The "hub" files: what a CLIP folder needs, one optional file, and one the fetcher must ignore.
    let contents: [String: Data]

    init() throws {
        let base = try temporaryFolder()
        root = base.appendingPathComponent("hub")
        destination = base.appendingPathComponent("Models/clip-test")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        // 1.5 MB of "weights" from a xorshift generator (SystemRandomNumberGenerator is slow in debug).
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let words = (0..<187_500).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        let weights = words.withUnsafeBytes { Data($0) }
        contents = [
            "config.json": Data(#"{"projection_dim": 512}"#.utf8),
            "model.safetensors": weights,
            "vocab.json": Data(#"{"a</w>": 0}"#.utf8),
            "merges.txt": Data("#version: 0.2\na b\n".utf8),
            "tokenizer_config.json": Data("{}".utf8),
            "README.md": Data("not wanted\n".utf8),
        ]
        for (name, data) in contents { try data.write(to: root.appendingPathComponent(name)) }
    }

    func fetcher(_ hub: FakeHub) -> ModelFetcher {
        ModelFetcher(repository: HubRepository(endpoint: hub.endpoint, id: "openai/clip-test"),
            destination: destination, client: HubClient(listingTimeout: 5), idleTimeout: 5)
    }

    func record(_ log: EventLog) -> FetchProgress {
        { event in
            switch event {
            case .listing: log.record(.listing)
            case .alreadyPresent(let file): log.record(.alreadyPresent(file.path))
            case .started(let file, let from): log.record(.started(file.path, resumedFrom: from))
            case .progress(let file, _): log.record(.progress(file.path))
            case .finished(let file): log.record(.finished(file.path))
            }
        }
    }

    func expectDestinationHoldsWantedFiles() throws {
        let wanted = ["config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer_config.json"]
        for name in wanted {
            let local = try Data(contentsOf: destination.appendingPathComponent(name))
            #expect(local == contents[name], "\(name) differs from the hub's bytes")
        }
        let present = try FileManager.default.contentsOfDirectory(atPath: destination.path).sorted()
        #expect(present == wanted.sorted(), "no README, no .part files left")
    }

    // MARK: - Download

    @Test func downloadsTheModelFilesThenSkipsThemWhenIntact() async throws {
        // Page size 2 makes the listing span several Link: rel="next" pages.
        let hub = try await FakeHub(root: root, extra: ["--page-size", "2"])
        let log = EventLog()
        let results = try await fetcher(hub).fetch(progress: record(log))
        #expect(results.map(\.file.path)
            == ["config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer_config.json"])
        #expect(results.allSatisfy { $0.downloaded })
        #expect(results.first { $0.file.path == "model.safetensors" }?.file.checksum.algorithm == "sha256")
        #expect(results.first { $0.file.path == "config.json" }?.file.checksum.algorithm == "git blob sha1")
        try expectDestinationHoldsWantedFiles()
        #expect(log.events.contains(.started("model.safetensors", resumedFrom: 0)))
        #expect(log.events.contains(.finished("model.safetensors")))
        // LFS files come through the hub's redirect to its CDN.
        #expect(hub.requests().contains { $0.path.hasPrefix("/cdn/") })

        let downloadsBefore = hub.requests().filter { !$0.path.hasPrefix("/api/") }.count
        let again = EventLog()
        let second = try await fetcher(hub).fetch(progress: record(again))
        #expect(second.allSatisfy { !$0.downloaded })
        #expect(again.events.contains(.alreadyPresent("model.safetensors")))
        #expect(hub.requests().filter { !$0.path.hasPrefix("/api/") }.count == downloadsBefore,
            "nothing is downloaded a second time")
    }

    @Test func resumesAPartFileWithARangeRequest() async throws {
        let hub = try await FakeHub(root: root)
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        let weights = try #require(contents["model.safetensors"])
        let half = weights.count / 2
        try weights.prefix(half).write(to: destination.appendingPathComponent("model.safetensors.part"))

        let log = EventLog()
        _ = try await fetcher(hub).fetch(progress: record(log))
        try expectDestinationHoldsWantedFiles()
        #expect(log.events.contains(.started("model.safetensors", resumedFrom: Int64(half))))
        let ranged = hub.requests().filter { $0.range == "bytes=\(half)-" }.map(\.path)
        #expect(ranged.contains("/openai/clip-test/resolve/main/model.safetensors"))
        #expect(ranged.contains { $0.hasPrefix("/cdn/") }, "the Range survives the CDN redirect")
    }

    /// openai/clip-vit-base-patch32 keeps model.safetensors only on the hub bot's conversion pull request.
    @Test func takesTheWeightsFromTheSafetensorsConversionPullRequest() async throws {
        let hub = try await FakeHub(root: root, extra: ["--pr-file", "model.safetensors"])
        let results = try await fetcher(hub).fetch()
        try expectDestinationHoldsWantedFiles()
        #expect(results.count == 5)
        let paths = hub.requests().map(\.path)
        #expect(paths.contains("/api/models/openai/clip-test/discussions?p=0"))
        #expect(paths.contains("/api/models/openai/clip-test/tree/refs%2Fpr%2F1"))
        #expect(paths.contains("/openai/clip-test/resolve/refs%2Fpr%2F1/model.safetensors"))
        #expect(paths.contains("/openai/clip-test/resolve/main/config.json"))
    }

    @Test func withoutWeightsAnywhereTheErrorNamesThem() async throws {
        try FileManager.default.removeItem(at: root.appendingPathComponent("model.safetensors"))
        let hub = try await FakeHub(root: root)
        let error = await #expect(throws: ModelHubError.self) { try await fetcher(hub).fetch() }
        #expect(error == .missingInRepository(repo: "openai/clip-test", revision: "main", files: ["model.safetensors"]))
        #expect(hub.requests().contains { $0.path.contains("/discussions") }, "the conversion PR was looked for")
    }

    @Test func resumesByItselfWhenTheConnectionDrops() async throws {
        let hub = try await FakeHub(root: root, extra: ["--truncate-after", "400000"])
        _ = try await fetcher(hub).fetch()
        try expectDestinationHoldsWantedFiles()
        #expect(hub.requests().contains { $0.range == "bytes=400000-" })
    }

    @Test func aPartFileLongerThanTheFileIsDiscarded() async throws {
        let hub = try await FakeHub(root: root)
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        let tooLong = try #require(contents["model.safetensors"]) + Data(count: 10)
        try tooLong.write(to: destination.appendingPathComponent("model.safetensors.part"))
        _ = try await fetcher(hub).fetch()
        try expectDestinationHoldsWantedFiles()
    }

    @Test func replacesAPresentFileWhoseChecksumIsWrong() async throws {
        let hub = try await FakeHub(root: root)
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        // Same size as the real vocab.json, different bytes.
        let vocab = try #require(contents["vocab.json"])
        try Data(repeating: UInt8(ascii: "x"), count: vocab.count).write(to: destination.appendingPathComponent("vocab.json"))
        let results = try await fetcher(hub).fetch()
        #expect(results.first { $0.file.path == "vocab.json" }?.downloaded == true)
        try expectDestinationHoldsWantedFiles()
    }

    // MARK: - Failures

    @Test(arguments: ["model.safetensors", "vocab.json"])
    func aChecksumMismatchIsNotRenamedIntoPlace(file: String) async throws {
        let hub = try await FakeHub(root: root, extra: ["--wrong-checksum", file])
        let error = await #expect(throws: ModelHubError.self) { try await fetcher(hub).fetch() }
        guard case .checksumMismatch(let name, let algorithm, let expected, let actual) = error else {
            Issue.record("expected a checksum mismatch, got \(String(describing: error))")
            return
        }
        #expect(name == file)
        #expect(algorithm == (file == "vocab.json" ? "git blob sha1" : "sha256"))
        #expect(expected != actual)
        let message = error?.description ?? ""
        #expect(message.contains(file) && message.contains(expected) && message.contains(actual))
        #expect(!FileManager.default.fileExists(atPath: destination.appendingPathComponent(file).path))
        #expect(!FileManager.default.fileExists(atPath: destination.appendingPathComponent(file + ".part").path))
    }

    @Test func aRepositoryWithoutTheWeightsIsAnError() async throws {
        try FileManager.default.removeItem(at: root.appendingPathComponent("merges.txt"))
        let hub = try await FakeHub(root: root)
        let error = await #expect(throws: ModelHubError.self) { try await fetcher(hub).fetch() }
        #expect(error == .missingInRepository(repo: "openai/clip-test", revision: "main", files: ["merges.txt"]))
    }

    @Test func aSecondFetchIntoTheSameFolderIsRefused() async throws {
        let hub = try await FakeHub(root: root)
        try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
        // Another process's lock, as flock sees it: a separate open file description on the folder.
        let fd = open(destination.path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try #require(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let error = await #expect(throws: ModelHubError.self) { try await fetcher(hub).fetch() }
        #expect(error == .destinationBusy(path: destination.path))
        flock(fd, LOCK_UN)
        _ = try await fetcher(hub).fetch()
        try expectDestinationHoldsWantedFiles()
    }

    @Test func anUnreachableHubFailsFastAndSaysWhatToDownload() async throws {
        let endpoint = URL(string: "http://127.0.0.1:\(try closedPort())")!
        let fetcher = ModelFetcher(repository: HubRepository(endpoint: endpoint, id: "openai/clip-vit-base-patch32"),
            destination: destination)
        // No wall-clock bound (timed assertions flake on a loaded machine): a refused connection must
        // come back as hubUnreachable, not be retried.
        let error = await #expect(throws: ModelHubError.self) { try await fetcher.fetch() }
        guard case .hubUnreachable = error else {
            Issue.record("expected hubUnreachable, got \(String(describing: error))")
            return
        }
        let message = error?.description ?? ""
        for name in ["config.json", "model.safetensors", "vocab.json", "merges.txt"] {
            #expect(message.contains("\(endpoint.absoluteString)/openai/clip-vit-base-patch32/resolve/main/\(name)"))
        }
        #expect(message.contains(destination.path))
        #expect(!FileManager.default.fileExists(atPath: destination.path), "nothing is created when offline")
    }

    @Test func aHubThatNeverAnswersTimesOutQuickly() async throws {
        let silent = try ListeningSocket(listen: true)
        let endpoint = URL(string: "http://127.0.0.1:\(silent.port)")!
        let fetcher = ModelFetcher(repository: HubRepository(endpoint: endpoint, id: "openai/clip-vit-base-patch32"),
            destination: destination, client: HubClient(listingTimeout: 1))
        // "timed out" (not a hang) shows the 1 s listing timeout applied; no wall-clock bound.
        let error = await #expect(throws: ModelHubError.self) { try await fetcher.fetch() }
        guard case .hubUnreachable(_, let reason, _) = error else {
            Issue.record("expected hubUnreachable, got \(String(describing: error))")
            return
        }
        #expect(reason == "timed out")
    }
}
