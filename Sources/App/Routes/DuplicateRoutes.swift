import Foundation
import Hummingbird
import SearchIndex
import Synchronization

/// `GET /duplicates?min_score=0.95&limit=100` → `{"groups":[{"ids":[...],"score"}]}`: groups of
/// near-identical images (`VectorIndex.nearDuplicates`: complete linkage, so every two images of a
/// group score ≥ min_score; `score` is the group's lowest pairwise score; surest groups first).
/// One scan runs at a time (it takes every core for rows² × dim / 2 multiply-adds); another request
/// meanwhile gets 503 `busy` with `Retry-After`.
struct DuplicateRoutes {
    let backend: Backend
    private let scanning = Scanning()

    init(backend: Backend) {
        self.backend = backend
    }

    static let defaultMinScore: Float = 0.95
    static let defaultLimit = 100

    struct Group: Encodable {
        let ids: [Int64]
        let score: Float
    }

    struct Body: Encodable {
        let groups: [Group]
    }

    /// Mounted at `/duplicates`.
    var endpoints: RouteCollection<AppRequestContext> {
        RouteCollection(context: AppRequestContext.self).get(use: duplicates)
    }

    @Sendable func duplicates(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (minScore, limit) = try Self.parse(queryItems: request.queryItems)
        let vectors = try backend.ready().store.vectors
        guard scanning.begin() else {
            var error = APIError(.serviceUnavailable, "busy", "another duplicates scan is running; try again when it is done")
            error.headers[.retryAfter] = "5"
            throw error
        }
        defer { scanning.end() }
        let groups: [DuplicateGroup]
        do {
            groups = try await offload { try vectors.nearDuplicates(minScore: minScore, limit: limit) }
        } catch let error as SearchIndexError {
            // The threshold is too low for this library: a field the client can fix, so 400 `invalid_field`.
            if case .tooManyPairs = error { throw APIError.invalidField("\"min_score\" \(minScore) is too low for this library: \(error.description)") }
            throw error
        }
        return .json(Body(groups: groups.map { Group(ids: $0.ids, score: $0.score) }))
    }

    static func parse(queryItems: [(name: String, value: String)]) throws(APIError) -> (minScore: Float, limit: Int) {
        var minScore = defaultMinScore
        var limit = defaultLimit
        let scores = VectorIndex.nearDuplicateScores
        for (name, value) in queryItems {
            switch name {
            case "min_score":
                guard let score = Float(value), score.isFinite else {
                    throw APIError.invalidField("\"min_score\" must be a number, got \"\(value)\"")
                }
                guard scores.contains(score) else {
                    throw APIError.invalidField("\"min_score\" must be between \(scores.lowerBound) and \(scores.upperBound), got \(value)")
                }
                minScore = score
            case "limit":
                limit = try SearchRoutes.intParameter("limit", value, in: 1...VectorIndex.maxNearDuplicateGroups)
            default:
                throw APIError(.badRequest, "unknown_field", "unknown query parameter \"\(name)\"; expected min_score, limit")
            }
        }
        return (minScore, limit)
    }

    /// Whether a scan is running.
    private final class Scanning: Sendable {
        private let running = Mutex(false)

        func begin() -> Bool {
            running.withLock { running in
                if running { return false }
                running = true
                return true
            }
        }

        func end() { running.withLock { $0 = false } }
    }
}
