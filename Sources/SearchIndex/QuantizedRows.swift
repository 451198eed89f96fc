import CSearchKernels

/// The compact copy of every vector, scanned by the exact search and walked by the graph: one int8
/// row per slot, `vector ≈ scale · codes` (symmetric, scale = max|v| / 127), with the exact size of
/// each row's rounding error so a scan can bound how far an int8 score is from the f32 one.
///
/// Slots are stable (the graph names nodes by slot): a removed id's slot turns dead and keeps its
/// codes until `release` makes it reusable (at once when no graph refers to it).
struct QuantizedRows {
    let dim: Int
    private(set) var codes: [Int8] = []        // (slots, dim)
    private(set) var scales: [Float] = []      // (slots)
    private(set) var errors: [Float] = []      // (slots): ‖v − scale · codes‖₂
    private(set) var ids: [Int64] = []         // (slots): the id a slot holds or last held
    private(set) var live: [Bool] = []         // (slots)
    private(set) var liveCount = 0
    private var slotOfId: [Int64: Int32] = [:]
    private var free: [Int32] = []             // dead slots nothing refers to

    init(dim: Int) {
        self.dim = dim
    }

    var slotCount: Int { ids.count }
    /// Dead slots that still hold codes for a graph (tombstones), not yet reusable.
    var tombstoneCount: Int { slotCount - liveCount - free.count }

    func slot(of id: Int64) -> Int32? { slotOfId[id] }

    /// Stores `vector` (dim) for `id`, which must not be live, in a free slot or a new one.
    mutating func add(id: Int64, vector: UnsafePointer<Float>) -> Int32 {
        precondition(slotOfId[id] == nil, "QuantizedRows: id \(id) is already stored")
        let slot: Int32
        if let reused = free.popLast() {
            slot = reused
        } else {
            slot = Int32(ids.count)
            codes.append(contentsOf: repeatElement(0, count: dim))
            scales.append(0)
            errors.append(0)
            ids.append(id)
            live.append(false)
        }
        let s = Int(slot)
        var error: Float = 0
        let scale = codes.withUnsafeMutableBufferPointer { buffer in
            sk_quantize_i8(vector, dim, buffer.baseAddress! + s * dim, &error)
        }
        scales[s] = scale
        errors[s] = error
        ids[s] = id
        live[s] = true
        liveCount += 1
        slotOfId[id] = slot
        return slot
    }

    /// Marks the slot of `id` dead (its codes stay, for a graph that still routes through it).
    mutating func kill(id: Int64) -> Int32? {
        guard let slot = slotOfId.removeValue(forKey: id) else { return nil }
        live[Int(slot)] = false
        liveCount -= 1
        return slot
    }

    /// A dead slot nothing refers to any more becomes reusable.
    mutating func release(_ slot: Int32) {
        precondition(!live[Int(slot)], "QuantizedRows: slot \(slot) is live")
        free.append(slot)
    }

    /// Bytes held (codes, per-slot arrays, the id map at about 17 bytes an entry).
    var bytes: Int { codes.count + slotCount * (4 + 4 + 8 + 1) + slotOfId.count * 17 + free.count * 4 }

    // MARK: - Serialization

    /// `dim`, slots, then per slot codes, scale, error, id, live; then the free slots.
    func serialize(into writer: inout ByteWriter) {
        writer.write(UInt32(dim))
        writer.write(UInt64(slotCount))
        writer.write(array: codes)
        writer.write(array: scales)
        writer.write(array: errors)
        writer.write(array: ids)
        writer.write(array: live.map { $0 ? UInt8(1) : 0 })
        writer.write(UInt64(free.count))
        writer.write(array: free)
    }

    init(reading reader: inout ByteReader) throws(SearchIndexError) {
        dim = Int(try reader.read(UInt32.self))
        guard dim > 0 else { throw .corruptData("compact matrix: dimension 0") }
        let slots = try reader.readCount(limit: reader.remaining / max(1, dim))
        codes = try reader.read(array: Int8.self, count: slots * dim)
        scales = try reader.read(array: Float.self, count: slots)
        errors = try reader.read(array: Float.self, count: slots)
        ids = try reader.read(array: Int64.self, count: slots)
        live = try reader.read(array: UInt8.self, count: slots).map { $0 != 0 }
        let freeCount = try reader.readCount(limit: slots)
        free = try reader.read(array: Int32.self, count: freeCount)
        for slot in free where !(0..<slots).contains(Int(slot)) || live[Int(slot)] {
            throw .corruptData("compact matrix: free slot \(slot) is out of range or live")
        }
        slotOfId.reserveCapacity(slots)
        for slot in 0..<slots where live[slot] {
            guard slotOfId.updateValue(Int32(slot), forKey: ids[slot]) == nil else {
                throw .corruptData("compact matrix: id \(ids[slot]) is live in two slots")
            }
        }
        liveCount = slotOfId.count
    }
}
