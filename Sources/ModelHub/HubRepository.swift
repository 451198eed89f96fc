import Foundation

/// A model repository on a Hugging Face Hub endpoint at one revision, and the URLs the hub serves it at:
/// the tree listing `GET {endpoint}/api/models/{repo}/tree/{revision}` (sizes, git blob ids, LFS sha256)
/// and the file download `GET {endpoint}/{repo}/resolve/{revision}/{path}` (LFS files redirect to a CDN).
public struct HubRepository: Equatable, Sendable {
    public let endpoint: URL
    /// `owner/name`, e.g. `openai/clip-vit-base-patch32`.
    public let id: String
    /// Branch, tag or commit.
    public let revision: String

    public init(endpoint: URL, id: String, revision: String = "main") {
        self.endpoint = endpoint
        self.id = id
        self.revision = revision
    }

    public var treeURL: URL {
        url("api/models/\(id)/tree/\(Self.encodeSegment(revision))")
    }

    public func resolveURL(for path: String) -> URL {
        let encodedPath = path.split(separator: "/").map { Self.encodeSegment(String($0)) }
            .joined(separator: "/")
        return url("\(id)/resolve/\(Self.encodeSegment(revision))/\(encodedPath)")
    }

    /// A page of the repository's discussions and pull requests.
    public func discussionsURL(page: Int) -> URL {
        url("api/models/\(id)/discussions?p=\(page)")
    }

    /// The same repository at another revision.
    public func at(revision: String) -> HubRepository {
        HubRepository(endpoint: endpoint, id: id, revision: revision)
    }

    /// The repository's page, for messages.
    public var pageURL: URL { url(id) }

    private func url(_ relative: String) -> URL {
        var base = endpoint.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        // Components were percent-encoded above, so this cannot fail for a valid endpoint.
        return URL(string: "\(base)/\(relative)") ?? endpoint
    }

    /// Percent-encodes one path segment (a revision like `refs/pr/1` becomes `refs%2Fpr%2F1`).
    private static func encodeSegment(_ segment: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove("/")
        return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }
}
