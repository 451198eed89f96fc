import Foundation
import Hummingbird
import Ingest

/// `GET /library`: the `serve --library` folders and how far their sync is.
struct LibraryRoutes {
    let backend: Backend

    struct Folder: Encodable {
        let path: String
        let files: Int
        let pending: Int
        /// ISO 8601; null before the first scan finished.
        let lastScan: String?
        let watching: Bool
        enum CodingKeys: String, CodingKey {
            case path, files, pending, watching
            case lastScan = "last_scan"
        }

        /// `last_scan` is always there: null before the first scan (the synthesized encoder would omit it).
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(files, forKey: .files)
            try container.encode(pending, forKey: .pending)
            try container.encode(lastScan, forKey: .lastScan)
            try container.encode(watching, forKey: .watching)
        }
    }

    struct Body: Encodable { let folders: [Folder] }

    var endpoints: RouteCollection<AppRequestContext> {
        RouteCollection(context: AppRequestContext.self).get("library", use: library)
    }

    @Sendable func library(_ request: Request, context: AppRequestContext) async throws -> Response {
        let folders = backend.library.snapshot.map { status in
            Folder(path: status.path, files: status.files, pending: status.pending,
                   lastScan: status.lastScan.map(APIDate.string), watching: status.watching)
        }
        return .json(Body(folders: folders))
    }
}
