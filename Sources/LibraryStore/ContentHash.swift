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
    /// a caller-supplied hash can never steer a path outside it.
    public static func isValidHex(_ text: String) -> Bool {
        let utf8 = text.utf8
        return utf8.count == 64 && utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
