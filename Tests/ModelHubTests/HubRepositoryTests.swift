import Foundation
import Testing

@testable import ModelHub

@Suite struct HubRepositoryTests {
    @Test func buildsTheHubsTreeAndResolveURLs() {
        let repository = HubRepository(endpoint: URL(string: "https://huggingface.co/")!,
            id: "openai/clip-vit-base-patch32", revision: "refs/pr/1")
        #expect(repository.treeURL.absoluteString
            == "https://huggingface.co/api/models/openai/clip-vit-base-patch32/tree/refs%2Fpr%2F1")
        #expect(repository.resolveURL(for: "model.safetensors").absoluteString
            == "https://huggingface.co/openai/clip-vit-base-patch32/resolve/refs%2Fpr%2F1/model.safetensors")
    }

    @Test func followsTheLinkHeadersNextPage() {
        let base = URL(string: "https://hub.example/api/models/a/b/tree/main")!
        let link = #"<https://hub.example/api/models/a/b/tree/main?cursor=abc>; rel="next""#
        #expect(HubClient.nextPage(link, relativeTo: base)?.absoluteString
            == "https://hub.example/api/models/a/b/tree/main?cursor=abc")
        #expect(HubClient.nextPage(#"</x?cursor=1>; rel="prev""#, relativeTo: base) == nil)
        #expect(HubClient.nextPage(nil, relativeTo: base) == nil)
    }

    @Test func readsLFSAndGitChecksumsFromTheListing() throws {
        let json = #"""
            [{"type":"file","oid":"0187f3b09d66cef7911083ad49f890f5a6589589","size":8,"path":"config.json"},
             {"type":"file","oid":"6aec","size":300,"path":"model.safetensors",
              "lfs":{"oid":"3b87ea5e","size":300,"pointerSize":131}},
             {"type":"directory","oid":"00","size":0,"path":"onnx"}]
            """#
        let files = try HubClient.parseTree(Data(json.utf8), from: URL(string: "http://x")!)
        #expect(files == [
            HubFile(path: "config.json", size: 8, checksum: .gitBlobSHA1("0187f3b09d66cef7911083ad49f890f5a6589589")),
            HubFile(path: "model.safetensors", size: 300, checksum: .sha256("3b87ea5e")),
        ])
    }

    @Test func aListingThatIsNotJSONIsABadListing() {
        #expect(throws: ModelHubError.self) {
            try HubClient.parseTree(Data("<html>".utf8), from: URL(string: "http://x")!)
        }
    }

    /// `git hash-object` of the 8 bytes `{"a":1}\n` (computed by git, not by this code).
    @Test func gitBlobChecksumMatchesGit() {
        var checksum = StreamingChecksum(expected: .gitBlobSHA1("0187f3b09d66cef7911083ad49f890f5a6589589"), size: 8)
        checksum.update(Data("{\"a\":1}\n".utf8))
        #expect(checksum.matches)
    }
}
