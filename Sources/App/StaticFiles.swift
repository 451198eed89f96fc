import Foundation
import Hummingbird

/// Files under one folder (`Public/`), for GET paths no API route matched. Never escapes the
/// folder: the path is percent-decoded once and any `.`/`..` segment, backslash, NUL or
/// still-encoded `%` is refused (400 `invalid_path`); the file found is resolved through symlinks
/// and must still lie inside the folder's own resolved path, else 404.
struct StaticFiles: Sendable {
    let root: String

    /// `directory` resolved through symlinks once.
    init(directory: URL) {
        root = directory.standardizedFileURL.resolvingSymlinksInPath().path
    }

    func response(for request: Request) throws -> Response {
        let relative = try StaticFiles.safeRelativePath(rawPath: request.uri.path)
        let candidate = URL(fileURLWithPath: root).appendingPathComponent(relative.isEmpty ? "index.html" : relative)
        let resolved = candidate.resolvingSymlinksInPath().path
        var isDirectory: ObjCBool = false
        guard resolved.hasPrefix(root + "/"),
              FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), !isDirectory.boolValue,
              let data = FileManager.default.contents(atPath: resolved)
        else {
            throw APIError.notFound("no such file: \(request.uri.path)")
        }
        let body = request.method == .head ? [] : [UInt8](data)
        var response = Response.bytes(body, contentType: StaticFiles.contentType(of: resolved),
                                      headers: [.cacheControl: "no-cache"])
        if request.method == .head { response.headers[.contentLength] = String(data.count) }
        return response
    }

    /// The path below the root, or 400 for anything that could walk out of it.
    static func safeRelativePath(rawPath: String) throws(APIError) -> String {
        let invalid = APIError(.badRequest, "invalid_path", "path \(rawPath) is not allowed: it must not leave the static folder")
        guard let decoded = rawPath.removingPercentEncoding else { throw invalid }
        // A second encoding layer (%252e) or control bytes are never a real file name here.
        guard !decoded.contains("%"), !decoded.contains("\\"), !decoded.contains("\0"), decoded.hasPrefix("/") else {
            throw invalid
        }
        let segments = decoded.split(separator: "/", omittingEmptySubsequences: true)
        guard !segments.contains(where: { $0 == ".." || $0 == "." }) else { throw invalid }
        // Hidden files (.git, .env) are not served.
        guard !segments.contains(where: { $0.hasPrefix(".") }) else { throw APIError.notFound("no such file: \(rawPath)") }
        return segments.joined(separator: "/")
    }

    static func contentType(of path: String) -> String {
        switch (path as NSString).pathExtension.lowercased() {
        case "html", "htm": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "json": return "application/json"
        case "yaml", "yml": return "application/yaml"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "ico": return "image/x-icon"
        case "txt": return "text/plain; charset=utf-8"
        default: return "application/octet-stream"
        }
    }
}
