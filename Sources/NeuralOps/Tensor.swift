/// Immutable, contiguous Float storage shared by tensors (weights). Allocated once, written only
/// inside `Tensor.init(shape:initializer:)`, freed with the last tensor that refers to it.
public final class FloatStorage: @unchecked Sendable {
    // @unchecked: the buffer is written only during initialization, then only read.
    public let base: UnsafeMutablePointer<Float>
    public let count: Int

    init(count: Int) {
        self.count = count
        base = .allocate(capacity: max(count, 1))
    }

    deinit { base.deallocate() }
}

/// A read-only tensor: contiguous row-major Floats plus a shape (`[rows, cols]` for a matrix).
public struct Tensor: Sendable {
    public let shape: [Int]
    public let storage: FloatStorage

    /// Number of elements (product of the shape).
    public var count: Int { storage.count }
    /// Start of the data, valid as long as this tensor (or a copy of it) lives.
    public var pointer: UnsafePointer<Float> { UnsafePointer(storage.base) }
    /// The elements as a buffer (no copy).
    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }

    /// Allocates `shape.product` Floats and lets `initializer` fill every one of them.
    public init(shape: [Int], initializer: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        self.shape = shape
        storage = FloatStorage(count: shape.reduce(1, *))
        try initializer(UnsafeMutableBufferPointer(start: storage.base, count: storage.count))
    }

    /// Copies `values`; `values.count` must equal the product of `shape`.
    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "Tensor: \(values.count) values for shape \(shape)")
        self.init(shape: shape) { out in
            _ = out.initialize(from: values)
        }
    }

    /// The elements as an array (copies; for tests and small tensors).
    public var array: [Float] { Array(buffer) }
}

extension Tensor {
    /// The same storage viewed with another shape of the same element count (no copy).
    public init(reshaping tensor: Tensor, to shape: [Int]) {
        precondition(shape.reduce(1, *) == tensor.count, "Tensor: cannot reshape \(tensor.shape) to \(shape)")
        self.shape = shape
        storage = tensor.storage
    }
}

/// Immutable bytes on a 64-byte boundary for packed weights in other formats than Float (f16, int8),
/// written once while the weight is prepared, then only read.
public final class ByteStorage: @unchecked Sendable {
    // @unchecked: written only during preparation, then only read.
    public let base: UnsafeMutableRawPointer
    public let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = byteCount
        base = .allocate(byteCount: max(byteCount, 1), alignment: 64)
    }

    deinit { base.deallocate() }
}
