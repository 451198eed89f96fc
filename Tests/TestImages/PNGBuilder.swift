import CZlib

/// PNG files made in the test, for inputs no fixture should hold: extreme sizes, many or huge
/// text chunks. 8-bit grayscale, all pixels 128.
public enum PNGBuilder {
    public struct Chunk {
        public let type: String
        public let data: [UInt8]

        public init(type: String, data: [UInt8]) {
            self.type = type
            self.data = data
        }

        /// zTXt: keyword, NUL, compression method 0, deflated text.
        public static func zTXt(_ keyword: String, _ text: [UInt8]) -> Chunk {
            Chunk(type: "zTXt", data: Array(keyword.utf8) + [0, 0] + deflate(text))
        }

        /// iTXt, compressed: keyword, NUL, flag 1, method 0, empty language and translated keyword.
        public static func iTXt(_ keyword: String, _ text: [UInt8]) -> Chunk {
            Chunk(type: "iTXt", data: Array(keyword.utf8) + [0, 1, 0, 0, 0] + deflate(text))
        }

        /// XMP carrying `tiff:Orientation`, as cameras and editors write it.
        public static func xmpOrientation(_ orientation: Int, padding: Int = 0) -> Chunk {
            let xmp = "<x:xmpmeta><rdf:Description tiff:Orientation=\"\(orientation)\"/>"
                + String(repeating: " ", count: padding) + "</x:xmpmeta>"
            return iTXt("XML:com.adobe.xmp", Array(xmp.utf8))
        }
    }

    /// A `width` x `height` gray PNG with `chunks` between IHDR and IDAT.
    public static func gray(width: Int, height: Int, chunks: [Chunk] = []) -> [UInt8] {
        var ihdr: [UInt8] = []
        ihdr += bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        ihdr += [8, 0, 0, 0, 0]   // depth 8, grayscale, deflate, no filter method, no interlace
        var raw: [UInt8] = []
        raw.reserveCapacity((width + 1) * height)
        for _ in 0..<height { raw.append(0); raw += [UInt8](repeating: 128, count: width) }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += chunk("IHDR", ihdr)
        for extra in chunks { png += chunk(extra.type, extra.data) }
        png += chunk("IDAT", deflate(raw))
        png += chunk("IEND", [])
        return png
    }

    public static func deflate(_ bytes: [UInt8]) -> [UInt8] {
        var size = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = out.withUnsafeMutableBufferPointer { target in
            bytes.withUnsafeBufferPointer { source in
                compress2(target.baseAddress, &size, source.baseAddress, uLong(source.count), 9)
            }
        }
        precondition(status == Z_OK, "compress2 failed: \(status)")
        return Array(out.prefix(Int(size)))
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        let crc = (typeBytes + data).withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        return bigEndian(UInt32(data.count)) + typeBytes + data + bigEndian(UInt32(crc))
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
