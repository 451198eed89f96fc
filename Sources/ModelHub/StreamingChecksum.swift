import Crypto
import Foundation

/// Hashes bytes as they arrive, so a 600 MB download is verified without reading it twice.
struct StreamingChecksum {
    private enum State {
        case sha256(SHA256)
        case sha1(Insecure.SHA1)
    }

    private var state: State
    let expected: Checksum

    /// `size` is the file's full size: the git blob header includes it.
    init(expected: Checksum, size: Int64) {
        self.expected = expected
        switch expected {
        case .sha256:
            state = .sha256(SHA256())
        case .gitBlobSHA1:
            var sha1 = Insecure.SHA1()
            sha1.update(data: Data("blob \(size)\0".utf8))
            state = .sha1(sha1)
        }
    }

    mutating func update(_ bytes: Data) {
        switch state {
        case .sha256(var hasher):
            hasher.update(data: bytes)
            state = .sha256(hasher)
        case .sha1(var hasher):
            hasher.update(data: bytes)
            state = .sha1(hasher)
        }
    }

    /// Lowercase hex of the digest so far.
    func finalizedHex() -> String {
        switch state {
        case .sha256(let hasher):
            return hasher.finalize().map { String(format: "%02x", $0) }.joined()
        case .sha1(let hasher):
            return hasher.finalize().map { String(format: "%02x", $0) }.joined()
        }
    }

    var matches: Bool { finalizedHex() == expected.hex.lowercased() }

    /// Feeds the first `length` bytes of a local file (a `.part` being resumed, or a finished file).
    mutating func update(contentsOf url: URL, length: Int64) throws(ModelHubError) {
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            var remaining = length
            while remaining > 0 {
                let chunk = try handle.read(upToCount: Int(min(remaining, 4 << 20))) ?? Data()
                if chunk.isEmpty { break }
                update(chunk)
                remaining -= Int64(chunk.count)
            }
        } catch {
            throw .fileSystem(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
    }
}

/// True when the file at `url` has exactly the listed size and checksum.
func fileMatches(_ url: URL, _ file: HubFile) throws(ModelHubError) -> Bool {
    guard let size = fileSize(url), size == file.size else { return false }
    var checksum = StreamingChecksum(expected: file.checksum, size: file.size)
    try checksum.update(contentsOf: url, length: size)
    return checksum.matches
}

/// Size in bytes of a regular file, nil when absent.
func fileSize(_ url: URL) -> Int64? {
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
        (attributes[.type] as? FileAttributeType) == .typeRegular
    else { return nil }
    return (attributes[.size] as? NSNumber)?.int64Value
}
