import Foundation

/// Embeddings on disk: little-endian Float32, `dim * 4` bytes, whatever the host's byte order.
enum VectorBlob {
    static func encode(_ vector: [Float]) -> Data {
        #if _endian(little)
        return vector.withUnsafeBytes { Data($0) }   // already the stored layout
        #else
        var data = Data(count: vector.count * 4)
        data.withUnsafeMutableBytes { raw in
            for (i, value) in vector.enumerated() {
                raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
            }
        }
        return data
        #endif
    }

    /// nil when the byte count is not `dim * 4`.
    static func decode(_ data: Data, dim: Int) -> [Float]? {
        guard data.count == dim * 4 else { return nil }
        #if _endian(little)
        return [Float](unsafeUninitializedCapacity: dim) { buffer, count in
            _ = data.copyBytes(to: buffer)
            count = dim
        }
        #else
        return data.withUnsafeBytes { raw in
            (0..<dim).map { i in
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
            }
        }
        #endif
    }
}
