import CZlib
import Foundation

/// gzip → bytes with zlib (Foundation on Linux has no gzip API).
enum Gunzip {
    /// Inflates a whole gzip (or zlib) stream; `nil` when the bytes are not a complete, valid stream.
    static func inflate(_ compressed: Data) -> Data? {
        if compressed.isEmpty { return nil }
        var stream = z_stream()
        // 15 + 32: largest window, and detect gzip or zlib headers automatically.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return nil
        }
        defer { inflateEnd(&stream) }

        var output = Data()
        let chunkSize = 1 << 16
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var status: Int32 = Z_OK
        var input = [UInt8](compressed)
        input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = uInt(inBuf.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(chunkSize)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    let produced = chunkSize - Int(stream.avail_out)
                    output.append(outBuf.baseAddress!, count: produced)
                }
            } while status == Z_OK
        }
        return status == Z_STREAM_END ? output : nil
    }
}
