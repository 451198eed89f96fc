import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Reads a repository's file listing from the hub API.
public struct HubClient: Sendable {
    /// Seconds to wait for the listing before calling the hub unreachable. Short on purpose: the
    /// listing is a few kilobytes, and an offline machine should hear so at once.
    public var listingTimeout: TimeInterval

    public init(listingTimeout: TimeInterval = 8) {
        self.listingTimeout = listingTimeout
    }

    /// Every file at the top level of the repository (following the API's `Link: rel="next"` pages).
    /// `manual` is what an unreachable hub's error tells the user to fetch by hand.
    public func listFiles(_ repository: HubRepository, manual: ManualDownload) async throws(ModelHubError)
        -> [HubFile]
    {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = listingTimeout
        configuration.timeoutIntervalForResource = listingTimeout * 4
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }

        var files: [HubFile] = []
        var next: URL? = repository.treeURL
        while let url = next {
            var request = URLRequest(url: url)
            request.setValue("application/json", forHTTPHeaderField: "Accept")
            let data: Data
            let response: URLResponse
            do {
                (data, response) = try await session.data(for: request)
            } catch {
                throw .hubUnreachable(url: url, reason: describeTransportError(error), manual: manual)
            }
            guard let http = response as? HTTPURLResponse else {
                throw .badListing(url: url, reason: "not an HTTP response")
            }
            guard http.statusCode == 200 else { throw .httpStatus(url: url, status: http.statusCode) }
            files += try Self.parseTree(data, from: url)
            next = Self.nextPage(http.value(forHTTPHeaderField: "Link"), relativeTo: url)
        }
        return files
    }

    /// The branch (`refs/pr/N`) of the hub bot's open "Adding `safetensors` variant of this model" pull
    /// request, which is where repositories published before safetensors (openai/clip-vit-base-patch32
    /// among them) keep `model.safetensors`; transformers looks it up the same way. Nil when there is none.
    public func safetensorsConversionBranch(_ repository: HubRepository, manual: ManualDownload)
        async throws(ModelHubError) -> String?
    {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = listingTimeout
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }

        for page in 0..<20 {
            let url = repository.discussionsURL(page: page)
            let data: Data
            let response: URLResponse
            do {
                (data, response) = try await session.data(for: URLRequest(url: url))
            } catch {
                throw .hubUnreachable(url: url, reason: describeTransportError(error), manual: manual)
            }
            guard let http = response as? HTTPURLResponse, http.statusCode == 200 else { return nil }
            let listing: DiscussionPage
            do {
                listing = try JSONDecoder().decode(DiscussionPage.self, from: data)
            } catch {
                throw .badListing(url: url, reason: "\(error)")
            }
            if let pull = listing.discussions.first(where: {
                $0.isPullRequest && $0.status == "open" && $0.title == Self.conversionTitle
            }) {
                return "refs/pr/\(pull.num)"
            }
            guard !listing.discussions.isEmpty, listing.start + listing.discussions.count < listing.count else {
                return nil
            }
        }
        return nil
    }

    static let conversionTitle = "Adding `safetensors` variant of this model"

    /// `GET /api/models/{repo}/discussions?p=N`: `{"discussions":[{"num","title","status","isPullRequest"}],"count","start"}`.
    private struct DiscussionPage: Decodable {
        struct Discussion: Decodable {
            let num: Int
            let title: String
            let status: String
            let isPullRequest: Bool
        }
        let discussions: [Discussion]
        let count: Int
        let start: Int
    }

    // MARK: - Parsing

    /// One entry of the tree listing: `{"type":"file","oid":...,"size":...,"path":...,"lfs":{"oid":...,"size":...}}`.
    private struct TreeEntry: Decodable {
        struct LFS: Decodable {
            let oid: String
            let size: Int64
        }
        let type: String
        let oid: String?
        let size: Int64?
        let path: String
        let lfs: LFS?
    }

    static func parseTree(_ data: Data, from url: URL) throws(ModelHubError) -> [HubFile] {
        let entries: [TreeEntry]
        do {
            entries = try JSONDecoder().decode([TreeEntry].self, from: data)
        } catch {
            throw .badListing(url: url, reason: "\(error)")
        }
        var files: [HubFile] = []
        for entry in entries where entry.type == "file" {
            if let lfs = entry.lfs {
                files.append(HubFile(path: entry.path, size: lfs.size, checksum: .sha256(lfs.oid)))
            } else if let oid = entry.oid, let size = entry.size {
                files.append(HubFile(path: entry.path, size: size, checksum: .gitBlobSHA1(oid)))
            } else {
                throw .badListing(url: url, reason: "\(entry.path) has neither an lfs object nor an oid and size")
            }
        }
        return files
    }

    /// The `rel="next"` target of an RFC 8288 `Link` header, if any.
    static func nextPage(_ link: String?, relativeTo base: URL) -> URL? {
        guard let link else { return nil }
        for part in link.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = fields.first, target.hasPrefix("<"), target.hasSuffix(">"),
                fields.dropFirst().contains(where: { $0.replacingOccurrences(of: "\"", with: "") == "rel=next" })
            else { continue }
            return URL(string: String(target.dropFirst().dropLast()), relativeTo: base)?.absoluteURL
        }
        return nil
    }
}

/// A short reason for a failed request: the URLError's own text names DNS failures, refused
/// connections and timeouts well enough.
func describeTransportError(_ error: any Error) -> String {
    if let urlError = error as? URLError {
        switch urlError.code {
        case .timedOut: return "timed out"
        default: return urlError.localizedDescription
        }
    }
    return "\(error)"
}
