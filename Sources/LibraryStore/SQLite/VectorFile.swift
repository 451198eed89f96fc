import Dispatch
import Foundation
import SearchIndex
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `<database>.vectors`: every vector of one model and the search structures, as of one position
/// of the change log, so a large library opens without reading every row. A cache: SQLite stays
/// the truth, the file is checked against it at open and caught up from the log
/// (`SQLiteLibrary+VectorFile.swift`).
///
/// Layout (little-endian): "CLVF", version (UInt32), dim (UInt32), model name (UInt32 length +
/// UTF-8), `sequence` (Int64: the last change-log entry the vectors reflect), that entry's image id
/// (Int64) and time (Float64 bit pattern; 0 and 0 when the log held none), rows (UInt64), search
/// state bytes (UInt64); checksum (UInt64, see `PieceChecksums`); then ids (rows × Int64), values
/// (rows × dim × Float32), the search state.
struct VectorFile: Equatable {
    /// Which log entry the vectors reflect; the entry's id and time tell one history from another
    /// that reached the same number (a database restored from a backup and written again).
    struct Position: Equatable {
        var sequence: Int64
        var imageID: Int64
        var changedAt: Double
    }

    static let magic: UInt32 = 0x4656_4C43   // "CLVF"
    /// 2: the checksum is over pieces (`PieceChecksums`); a version 1 file is read from the rows once
    /// and written again.
    static let version: UInt32 = 2

    var modelName: String
    var position: Position
    var snapshot: VectorSnapshot

    /// Why a file cannot be used (the store opens from the rows instead).
    struct Unusable: Error, Equatable {
        let reason: String
    }

    // MARK: - Writing

    /// `<name>.tmp-`: the temp files a write of `url` makes beside it.
    static func tempPrefix(_ url: URL) -> String { url.lastPathComponent + ".tmp-" }

    /// Removes temp files of `url` older than an hour (left by a process killed while writing; a
    /// write of a few GB takes seconds, so none of them is still being written).
    static func removeStaleTempFiles(of url: URL, now: Date = Date()) {
        let folder = url.deletingLastPathComponent()
        let prefix = tempPrefix(url)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            let path = folder.appendingPathComponent(name).path
            guard let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                  now.timeIntervalSince(modified) > 3600 else { continue }
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    func write(to url: URL) throws(LibraryStoreError) {
        let header = headerBytes()
        var pieces = PieceChecksums()
        snapshot.ids.withUnsafeBytes { pieces.add(section: $0) }
        snapshot.values.withUnsafeBytes { pieces.add(section: $0) }
        snapshot.searchState.withUnsafeBytes { pieces.add(section: $0) }
        let sum = header.withUnsafeBytes { pieces.checksum(header: $0) }
        try DurableFile.replace(url, tempPrefix: Self.tempPrefix(url)) { sink in
            sink.write(array: header)
            sink.write(array: [sum.littleEndian])
            sink.write(array: snapshot.ids)
            sink.write(array: snapshot.values)
            sink.write(array: snapshot.searchState)
        }
    }

    private func headerBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        put(Self.magic)
        put(Self.version)
        put(UInt32(snapshot.dimension))
        let name = Array(modelName.utf8)
        put(UInt32(name.count))
        bytes += name
        put(position.sequence)
        put(position.imageID)
        put(position.changedAt.bitPattern)
        put(UInt64(snapshot.ids.count))
        put(UInt64(snapshot.searchState.count))
        return bytes
    }

    // MARK: - Reading

    /// Reads and checks the file at `url` for `modelName` and `dimension`: nil when there is none,
    /// `Unusable` when it is of another model or dimension, truncated, or fails its checksum.
    static func read(_ url: URL, modelName: String, dimension: Int) throws(Unusable) -> VectorFile? {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw Unusable(reason: "cannot open: \(DurableFile.errnoText())")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Unusable(reason: "fstat: \(DurableFile.errnoText())") }
        var input = FileInput(fd: fd, size: Int(info.st_size))

        let fixed: [UInt8] = try input.read(16)
        func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
            UInt32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt32.self) })
        }
        guard u32(fixed, 0) == magic else { throw Unusable(reason: "not a vector file") }
        guard u32(fixed, 4) == version else { throw Unusable(reason: "version \(u32(fixed, 4)), this build reads \(version)") }
        let dim = Int(u32(fixed, 8))
        guard dim == dimension else { throw Unusable(reason: "vectors of dimension \(dim), the model has \(dimension)") }
        let nameLength = Int(u32(fixed, 12))
        guard nameLength <= 4096 else { throw Unusable(reason: "a model name of \(nameLength) bytes") }
        let name: [UInt8] = try input.read(nameLength)
        let storedName = String(decoding: name, as: UTF8.self)
        guard storedName == modelName else { throw Unusable(reason: "vectors of model \(storedName), not \(modelName)") }
        let rest: [UInt8] = try input.read(48)
        func u64(_ at: Int) -> UInt64 {
            UInt64(littleEndian: rest.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt64.self) })
        }
        let position = Position(sequence: Int64(bitPattern: u64(0)), imageID: Int64(bitPattern: u64(8)),
                                changedAt: Double(bitPattern: u64(16)))
        let rows = u64(24), stateCount = u64(32), storedSum = u64(40)
        // The exact size: a truncated or extended file is refused before anything is allocated.
        let payload = rows.multipliedReportingOverflow(by: UInt64(8 + 4 * dim))
        let expected = UInt64(16 + nameLength + 48).addingReportingOverflow(payload.partialValue).partialValue
            .addingReportingOverflow(stateCount)
        guard !payload.overflow, !expected.overflow, expected.partialValue == UInt64(input.size) else {
            throw Unusable(reason: "\(input.size) bytes, the header promises \(rows) rows and \(stateCount) bytes of search state")
        }
        var pieces = PieceChecksums()
        let ids: [Int64] = try input.readSection(Int(rows), into: &pieces)
        let values: [Float] = try input.readSection(Int(rows) * dim, into: &pieces)
        let state: [UInt8] = try input.readSection(Int(stateCount), into: &pieces)
        let sum = (fixed + name + rest.prefix(40)).withUnsafeBytes { pieces.checksum(header: $0) }
        guard sum == storedSum else { throw Unusable(reason: "checksum mismatch (damaged file)") }
        return VectorFile(modelName: modelName, position: position,
                          snapshot: VectorSnapshot(dimension: dim, ids: ids, values: values, searchState: state))
    }
}

/// The file's checksum: XXH64 of each `pieceBytes` piece of each section (ids, values, search
/// state), then XXH64 of the header chained with the pieces' digests in order. Pieces are
/// independent, so a multi-GB file is read and checked on every core, each piece while it is still
/// in cache, instead of one pass to read it and another to hash it.
struct PieceChecksums {
    static let pieceBytes = 4 << 20

    private(set) var digests: [UInt64] = []

    /// Appends the digests of `section`'s pieces, hashed in parallel.
    mutating func add(section: UnsafeRawBufferPointer) {
        let start = digests.count
        let count = Self.pieceCount(section.count)
        guard count > 0 else { return }
        digests += [UInt64](repeating: 0, count: count)
        digests.withUnsafeMutableBufferPointer { out in
            let out = UncheckedSendable(out.baseAddress! + start)
            let section = UncheckedSendable(section)
            DispatchQueue.concurrentPerform(iterations: count) { piece in
                out.value[piece] = checksum64(section.value.piece(piece))
            }
        }
    }

    /// Appends digests computed elsewhere (one section's, in piece order).
    mutating func add(digests more: [UInt64]) { digests += more }

    func checksum(header: UnsafeRawBufferPointer) -> UInt64 {
        digests.withUnsafeBytes { checksum64($0, seed: checksum64(header)) }
    }

    static func pieceCount(_ bytes: Int) -> Int { (bytes + pieceBytes - 1) / pieceBytes }
}

extension UnsafeRawBufferPointer {
    /// Piece `index` of `PieceChecksums.pieceBytes` (the last one shorter).
    fileprivate func piece(_ index: Int) -> UnsafeRawBufferPointer {
        let start = index * PieceChecksums.pieceBytes
        return UnsafeRawBufferPointer(rebasing: self[start ..< Swift.min(count, start + PieceChecksums.pieceBytes)])
    }
}

/// @unchecked Sendable: the parallel reads and hashes write disjoint pieces and digests.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Reads of a file of known size straight into arrays, section after section, each section's
/// pieces read and hashed in parallel.
private struct FileInput {
    let fd: Int32
    let size: Int
    private var offset = 0

    init(fd: Int32, size: Int) {
        self.fd = fd
        self.size = size
    }

    /// The next `count` elements, without a checksum (the header).
    mutating func read<T: BitwiseCopyable>(_ count: Int) throws(VectorFile.Unusable) -> [T] {
        var ignored = PieceChecksums()
        return try readSection(count, into: &ignored)
    }

    /// The next `count` elements, each piece's digest added to `pieces`.
    mutating func readSection<T: BitwiseCopyable>(_ count: Int, into pieces: inout PieceChecksums) throws(VectorFile.Unusable) -> [T] {
        let bytes = count * MemoryLayout<T>.stride
        guard count >= 0, bytes <= size - offset else { throw VectorFile.Unusable(reason: "truncated at byte \(offset)") }
        let pieceCount = PieceChecksums.pieceCount(bytes)
        var digests = [UInt64](repeating: 0, count: pieceCount)
        let failures = Mutex<[Int: String]>([:])
        let (fd, start) = (fd, offset)
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard pieceCount > 0 else { return }
            let section = UncheckedSendable(UnsafeMutableRawBufferPointer(buffer))
            digests.withUnsafeMutableBufferPointer { out in
                let out = UncheckedSendable(out.baseAddress!)
                let readPiece: @Sendable (Int) -> Void = { piece in
                    let target = UnsafeMutableRawBufferPointer(mutating: UnsafeRawBufferPointer(section.value).piece(piece))
                    let at = start + piece * PieceChecksums.pieceBytes
                    if let failure = readFully(fd, target, at: at) {
                        failures.withLock { $0[piece] = failure }
                    } else {
                        out.value[piece] = checksum64(UnsafeRawBufferPointer(target))
                    }
                }
                DispatchQueue.concurrentPerform(iterations: pieceCount, execute: readPiece)
            }
            initialized = failures.withLock { $0.isEmpty } ? count : 0
        }
        if let first = failures.withLock({ $0.min { $0.key < $1.key } }) { throw VectorFile.Unusable(reason: first.value) }
        offset += bytes
        pieces.add(digests: digests)
        return values
    }
}

/// Fills `target` from `fd` at byte `at`; nil, or why not.
private func readFully(_ fd: Int32, _ target: UnsafeMutableRawBufferPointer, at: Int) -> String? {
    var done = 0
    while done < target.count {
        let n = pread(fd, target.baseAddress! + done, target.count - done, off_t(at + done))
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return n == 0 ? "ends at byte \(at + done)" : "read: \(DurableFile.errnoText())" }
        done += n
    }
    return nil
}
