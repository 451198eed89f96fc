import Crypto

/// SHA-256 as the store names content: 64 lowercase hex digits.
public enum ContentHash {
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        let digest = SHA256.hash(data: bytes)
        var out = ""
        out.reserveCapacity(64)
        let digits = Array("0123456789abcdef")
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return out
    }

    /// True for exactly 64 characters of [0-9a-f]: the only names the originals folder accepts, so
    /// a hash can never steer a path outside it.
    public static func isValidHex(_ text: String) -> Bool {
        let utf8 = text.utf8
        return utf8.count == 64 && utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// Bytes with their SHA-256, computed once where the bytes enter (an upload, a file read) and passed
/// down: the only way to make one is to hash, so a store never sees a hash that does not match.
public struct HashedBytes: Sendable {
    public let bytes: [UInt8]
    /// `ContentHash.sha256Hex(bytes)`.
    public let sha256: String

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        sha256 = ContentHash.sha256Hex(bytes)
    }
}
