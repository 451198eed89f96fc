/// Little-endian byte buffers for the compact matrix and the graph, so a store can persist them
/// and load them back without rebuilding. Fixed-width integers and floats, counted arrays.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func write(_ value: Float) { write(value.bitPattern) }

    /// The elements' bytes as they are in memory (this package runs on little-endian machines only).
    mutating func write<T: BitwiseCopyable>(array: [T]) {
        array.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
}

struct ByteReader {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var remaining: Int { bytes.count - position }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws(SearchIndexError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw .corruptData("truncated: \(size) bytes wanted at offset \(position), \(remaining) left") }
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[position ..< position + size]) }
        position += size
        return T(littleEndian: value)
    }

    mutating func read(_: Float.Type) throws(SearchIndexError) -> Float {
        Float(bitPattern: try read(UInt32.self))
    }

    /// A UInt64 count, refused above `limit` (so a corrupt count cannot ask for terabytes).
    mutating func readCount(limit: Int) throws(SearchIndexError) -> Int {
        let count = try read(UInt64.self)
        guard count <= UInt64(max(0, limit)) else { throw .corruptData("count \(count) at offset \(position - 8) exceeds \(limit)") }
        return Int(count)
    }

    mutating func read<T: BitwiseCopyable>(array _: T.Type, count: Int) throws(SearchIndexError) -> [T] {
        let size = count * MemoryLayout<T>.stride
        guard count >= 0, remaining >= size else {
            throw .corruptData("truncated: \(count) values of \(MemoryLayout<T>.stride) bytes wanted at offset \(position), \(remaining) bytes left")
        }
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[position ..< position + size]))
            }
            initialized = count
        }
        position += size
        return values
    }

    func expectEnd(_ what: String) throws(SearchIndexError) {
        guard remaining == 0 else { throw .corruptData("\(what): \(remaining) bytes after the end") }
    }
}
