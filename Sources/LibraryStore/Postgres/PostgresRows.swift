import Foundation
import Logging
import PostgresNIO

/// How rows of `images` are read: one column list, one decoder.
enum PostgresRows {
    /// The columns `image(_:)` decodes, in order (prefix `images.` where joined).
    static let imageColumns = "id, sha256, source, mime, width, height, byte_size, file_mtime, stored_path, created_at, taken_at, keywords"

    static func image(_ row: PostgresRow) throws -> StoredImage {
        let (id, sha256, source, mime, width, height, byteSize, fileMtime, storedPath, createdAt, takenAt, keywords) =
            try row.decode((Int64, String, String, String, Int64, Int64, Int64, Double?, String?, Double, Double, String?).self)
        return StoredImage(id: id, sha256: sha256, source: source, mime: mime, width: Int(width), height: Int(height),
                           byteSize: Int(byteSize), fileMtime: fileMtime, storedPath: storedPath,
                           createdAt: Date(timeIntervalSince1970: createdAt), takenAt: Date(timeIntervalSince1970: takenAt),
                           keywords: keywords.map { $0.split(separator: "\n").map(String.init) } ?? [])
    }

    static func images(_ rows: PostgresRowSequence) async throws -> [StoredImage] {
        var images: [StoredImage] = []
        for try await row in rows { images.append(try image(row)) }
        return images
    }

    /// The SQL condition on `images` that `filter` allows, with its binds appended to `query`
    /// ("TRUE" when the filter is empty). The folder is a prefix compare on path boundaries, not
    /// LIKE: "%" and "_" in folder names mean themselves; left() counts characters.
    static func appendCondition(_ filter: ImageFilter, to query: inout PostgresQuery.StringInterpolation) {
        var first = true
        func and() {
            if !first { query.appendLiteral(" AND ") }
            first = false
        }
        if let after = filter.takenAfter {
            and()
            query.appendLiteral("images.taken_at >= ")
            query.appendInterpolation(after.timeIntervalSince1970)
        }
        if let before = filter.takenBefore {
            and()
            query.appendLiteral("images.taken_at < ")
            query.appendInterpolation(before.timeIntervalSince1970)
        }
        if let folder = filter.folderPath {
            and()
            let prefix = folder == "/" ? "/" : folder + "/"
            query.appendLiteral("(images.source = ")
            query.appendInterpolation(folder)
            query.appendLiteral(" OR left(images.source, char_length(")
            query.appendInterpolation(prefix)
            query.appendLiteral("::text)) = ")
            query.appendInterpolation(prefix)
            query.appendLiteral(")")
        }
        if first { query.appendLiteral("TRUE") }
    }
}

extension PostgresConnection {
    /// `query`, async only: `try await db.rows(...).decode(...)` cannot pick the EventLoopFuture overload.
    @discardableResult
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await self.query(query, logger: logger)
    }
}

extension AsyncSequence {
    /// Every element, in order.
    func array() async throws -> [Element] {
        var elements: [Element] = []
        for try await element in self { elements.append(element) }
        return elements
    }
}
