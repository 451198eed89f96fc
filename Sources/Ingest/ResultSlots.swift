import Foundation

/// Fixed slots written by concurrent iterations, each index by exactly one of them.
final class ResultSlots<Value>: @unchecked Sendable {
    private var storage: [Value?]
    private var filled = 0
    private let lock = NSLock()

    init(count: Int) { storage = Array(repeating: nil, count: count) }

    var values: [Value?] { lock.withLock { storage } }

    /// Stores a value and returns how many slots are filled now.
    @discardableResult
    func set(_ index: Int, _ value: Value) -> Int {
        lock.withLock {
            storage[index] = value
            filled += 1
            return filled
        }
    }

    /// `body(i)` for every index on all cores; the slots in index order.
    static func concurrentMap(_ count: Int, finished: @Sendable (Int) -> Void = { _ in },
                              _ body: @Sendable (Int) -> Value) -> [Value] {
        let slots = ResultSlots<Value>(count: count)
        DispatchQueue.concurrentPerform(iterations: count) { i in finished(slots.set(i, body(i))) }
        return slots.values.map { $0! }
    }
}
