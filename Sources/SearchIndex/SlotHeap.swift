/// A graph node (slot) with its score against the query.
struct ScoredSlot {
    var score: Float
    var slot: Int32
}

/// A binary heap of scored slots: best (highest score) on top for the candidates still to expand,
/// or worst on top for the results kept so far.
struct SlotHeap {
    private(set) var items: [ScoredSlot] = []
    let bestOnTop: Bool

    init(bestOnTop: Bool, capacity: Int = 0) {
        self.bestOnTop = bestOnTop
        items.reserveCapacity(capacity)
    }

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }
    var top: ScoredSlot? { items.first }

    @inline(__always)
    private func above(_ a: ScoredSlot, _ b: ScoredSlot) -> Bool {
        bestOnTop ? a.score > b.score : a.score < b.score
    }

    mutating func push(_ item: ScoredSlot) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard above(items[child], items[parent]) else { return }
            items.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func pop() -> ScoredSlot? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        guard !items.isEmpty else { return first }
        items[0] = last
        var parent = 0
        let count = items.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            var next = left
            if left + 1 < count && above(items[left + 1], items[left]) { next = left + 1 }
            guard above(items[next], items[parent]) else { break }
            items.swapAt(next, parent)
            parent = next
        }
        return first
    }
}
