import Foundation
import Hummingbird

/// The files of `Public/`, for GET paths no API route matched: built into the binary
/// (`PublicFiles`, the default, so the page and the spec are served whatever the working
/// directory), or read from a folder (`serve --public DIR`, to edit the page without rebuilding).
/// Never escapes `Public/`: the path is percent-decoded once and any `.`/`..` segment, backslash,
/// NUL or still-encoded `%` is refused (400 `invalid_path`); a file read from a folder is resolved
/// through symlinks and must still lie inside the folder's own resolved path, else 404.
struct StaticFiles: Sendable {
    private enum Source: Sendable {
        case folder(root: String)
        case embedded([String: [UInt8]])
    }

    private let source: Source

    /// `directory` resolved through symlinks once.
    init(directory: URL) {
        source = .folder(root: directory.standardizedFileURL.resolvingSymlinksInPath().path)
    }

    /// The copy of `Public/` built into the binary.
    static let embedded: StaticFiles = StaticFiles(files: PublicFiles.base64.compactMapValues { Data(base64Encoded: $0).map { [UInt8]($0) } })

    private init(files: [String: [UInt8]]) {
        source = .embedded(files)
    }

    func response(for request: Request) throws -> Response {
        let relative = try StaticFiles.safeRelativePath(rawPath: request.uri.path)
        guard let bytes = file(relative.isEmpty ? "index.html" : relative) else {
            throw APIError.notFound("no such file: \(request.uri.path)")
        }
        let body = request.method == .head ? [] : bytes
        var response = Response.bytes(body, contentType: StaticFiles.contentType(of: relative.isEmpty ? "index.html" : relative),
                                      headers: [.cacheControl: "no-cache"])
        if request.method == .head { response.headers[.contentLength] = String(bytes.count) }
        return response
    }

    /// Whether GET would find a file at this request path (for 405 on other methods).
    func exists(rawPath: String) -> Bool {
        guard let relative = try? StaticFiles.safeRelativePath(rawPath: rawPath) else { return false }
        return file(relative.isEmpty ? "index.html" : relative) != nil
    }

    /// The bytes of a regular file at `relative` (already checked by `safeRelativePath`).
    func file(_ relative: String) -> [UInt8]? {
        switch source {
        case .embedded(let files):
            return files[relative]
        case .folder(let root):
            let resolved = URL(fileURLWithPath: root).appendingPathComponent(relative).resolvingSymlinksInPath().path
            var isDirectory: ObjCBool = false
            guard resolved.hasPrefix(root + "/"),
                  FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let data = FileManager.default.contents(atPath: resolved)
            else { return nil }
            return [UInt8](data)
        }
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
