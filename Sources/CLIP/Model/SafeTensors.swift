// A read-only safetensors file, memory-mapped. Format: 8-byte little-endian header length N, N bytes
// of JSON `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`, then the
// data; offsets are relative to byte 8 + N. https://github.com/huggingface/safetensors#format
import Foundation
import NeuralOps
#if canImport(Glibc)
import Glibc
#endif

/// One entry of the header.
struct SafeTensorInfo: Sendable, Equatable {
    let dtype: String
    let shape: [Int]
    /// Absolute byte range in the file.
    let begin: Int
    let end: Int
}

final class SafeTensorsFile {
    let path: String
    let fileSize: Int
    let tensors: [String: SafeTensorInfo]
    private let mapping: UnsafeRawPointer

    /// Bytes per element of the dtypes whose size we know (for validating data ranges).
    static let elementSizes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
        "U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1,
    ]
    /// A header larger than this is not a header (the real ViT-B/32 one is ~30 kB).
    static let maxHeaderLength = 100 << 20

    init(url: URL) throws(CLIPError) {
        path = url.path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw .modelFileUnreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw .modelFileUnreadable(path: path, reason: String(cString: strerror(errno)))
        }
        fileSize = Int(status.st_size)
        guard fileSize >= 8 else {
            throw .corruptWeightsHeader(path: path, reason: "the file has \(fileSize) bytes, fewer than the 8-byte header length")
        }
        guard let raw = mmap(nil, fileSize, PROT_READ, MAP_PRIVATE, fd, 0), raw != MAP_FAILED else {
            throw .modelFileUnreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        let base = UnsafeRawPointer(raw)
        do {
            tensors = try Self.parseHeader(base, fileSize: fileSize, path: path)
        } catch {
            munmap(raw, fileSize)
            throw error
        }
        mapping = base
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: mapping), fileSize)
    }

    // MARK: - Header

    private static func parseHeader(_ base: UnsafeRawPointer, fileSize: Int, path: String) throws(CLIPError) -> [String: SafeTensorInfo] {
        let length = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard length >= 2, length <= UInt64(min(maxHeaderLength, fileSize - 8)) else {
            throw .corruptWeightsHeader(path: path, reason: "header length \(length) does not fit a file of \(fileSize) bytes")
        }
        let headerLength = Int(length)
        let json = Data(bytes: base + 8, count: headerLength)
        guard let object = try? JSONSerialization.jsonObject(with: json), let root = object as? [String: Any] else {
            throw .corruptWeightsHeader(path: path, reason: "the header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        var tensors: [String: SafeTensorInfo] = [:]
        // In file order (then by name), so a truncated file names the first tensor that was cut.
        func begin(_ name: String) -> Int {
            ((root[name] as? [String: Any])?["data_offsets"] as? [Any])?.first.flatMap { ($0 as? NSNumber)?.intValue } ?? -1
        }
        let names = root.keys.filter { $0 != "__metadata__" }.sorted { (begin($0), $0) < (begin($1), $1) }
        for name in names {
            let value = root[name]!
            guard let entry = value as? [String: Any],
                  let dtype = entry["dtype"] as? String,
                  let shape = integers(entry["shape"]), shape.allSatisfy({ $0 >= 0 }),
                  let offsets = integers(entry["data_offsets"]),
                  offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1]
            else {
                throw .corruptWeightsHeader(path: path, reason: "entry \(name) lacks a valid dtype, shape or data_offsets")
            }
            let (begin, overflowBegin) = dataStart.addingReportingOverflow(offsets[0])
            let (end, overflowEnd) = dataStart.addingReportingOverflow(offsets[1])
            guard !overflowBegin, !overflowEnd, end <= fileSize else {
                throw .truncatedWeights(path: path, tensor: name, end: overflowEnd ? Int.max : end, fileSize: fileSize)
            }
            if let size = elementSizes[dtype] {
                let bytes = (shape + [size]).reduce(Optional(1)) { product, n in
                    product.flatMap { p in
                        let (value, overflow) = p.multipliedReportingOverflow(by: n)
                        return overflow ? nil : value
                    }
                }
                guard bytes == end - begin else {
                    throw .corruptWeightsHeader(path: path, reason: "entry \(name): \(end - begin) bytes for shape \(shape) of \(dtype)")
                }
            }
            tensors[name] = SafeTensorInfo(dtype: dtype, shape: shape, begin: begin, end: end)
        }
        return tensors
    }

    /// A JSON array of whole numbers, or nil.
    private static func integers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var result: [Int] = []
        for element in array {
            guard let number = element as? NSNumber, Double(number.intValue) == number.doubleValue else { return nil }
            result.append(number.intValue)
        }
        return result
    }

    // MARK: - Data

    /// The tensor `name` converted to Float (F32, F16 and BF16), after checking its shape. An
    /// `expected` shape of `nil` accepts any shape.
    func load(_ name: String, shape expected: [Int]?) throws(CLIPError) -> Tensor {
        guard let info = tensors[name] else { throw .missingTensor(name) }
        if let expected, expected != info.shape {
            throw .tensorShapeMismatch(tensor: name, expected: expected, actual: info.shape)
        }
        defer { releasePages(info) }
        return try convert(info, name: name)
    }

    /// Drops the file pages of a converted tensor from memory, so loading holds the converted copy
    /// plus one tensor's pages, not the whole mapping too (peak RSS ~1x the weights instead of ~2x).
    /// The mapping is private and read-only: a page touched again is simply re-read from the file.
    private func releasePages(_ info: SafeTensorInfo) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = info.begin / page * page
        let end = min(fileSize, (info.end + page - 1) / page * page)
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(mutating: mapping + start), end - start, MADV_DONTNEED)
    }

    private func convert(_ info: SafeTensorInfo, name: String) throws(CLIPError) -> Tensor {
        let source = mapping + info.begin
        switch info.dtype {
        case "F32":
            return Tensor(shape: info.shape) { out in
                // Unaligned-safe copy of little-endian IEEE floats (x86 and arm64 are little-endian).
                UnsafeMutableRawBufferPointer(out).copyMemory(
                    from: UnsafeRawBufferPointer(start: source, count: out.count * 4))
            }
        case "F16":
            return Tensor(shape: info.shape) { out in
                for i in out.indices {
                    out[i] = Float(Float16(bitPattern: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                }
            }
        case "BF16":
            return Tensor(shape: info.shape) { out in
                for i in out.indices {
                    let bits = UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16
                    out[i] = Float(bitPattern: bits)
                }
            }
        default:
            throw .unsupportedTensorDtype(tensor: name, dtype: info.dtype)
        }
    }
}
