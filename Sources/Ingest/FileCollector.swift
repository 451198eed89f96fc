import Foundation

/// The files `index PATH...` looks at: each path itself when it is a file, every regular file below
/// it (recursively, hidden ones skipped) when it is a folder. Absolute, deduplicated, sorted so runs
/// are repeatable. Paths that do not exist are returned separately, to be reported.
public enum FileCollector {
    public static func collect(_ paths: [String]) -> (files: [String], missing: [String]) {
        var files = Set<String>()
        var missing: [String] = []
        let manager = FileManager.default
        for path in paths {
            let url = URL(fileURLWithPath: path).standardizedFileURL
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                missing.append(path)
                continue
            }
            guard isDirectory.boolValue else {
                files.insert(url.path)
                continue
            }
            let keys: [URLResourceKey] = [.isRegularFileKey]
            guard let walker = manager.enumerator(at: url, includingPropertiesForKeys: keys,
                                                  options: [.skipsHiddenFiles]) else {
                missing.append(path)
                continue
            }
            for case let file as URL in walker {
                if (try? file.resourceValues(forKeys: Set(keys)))?.isRegularFile == true {
                    files.insert(file.standardizedFileURL.path)
                }
            }
        }
        return (files.sorted(), missing)
    }
}
