/// Picks the best `capacity` (id, score) pairs from a stream without sorting it: a min-heap whose
/// root is the worst kept pair, so each candidate costs one comparison unless it beats the root.
/// Order: higher score first, then lower id (deterministic ties). Scores are the exact re-rank's
/// doubles, so rows whose f32 scores would round to a tie still rank as in exact arithmetic.
struct TopKSelector {
    struct Entry: Equatable {
        let id: Int64
        let score: Double
    }

    let capacity: Int
    private(set) var heap: [Entry] = []

    init(capacity: Int) {
        self.capacity = max(0, capacity)
        heap.reserveCapacity(self.capacity)
    }

    /// `a` ranks after `b`.
    @inline(__always)
    static func worse(_ a: Entry, _ b: Entry) -> Bool {
        a.score < b.score || (a.score == b.score && a.id > b.id)
    }

    @inline(__always)
    mutating func offer(id: Int64, score: Double) {
        guard capacity > 0 else { return }
        let entry = Entry(id: id, score: score)
        if heap.count < capacity {
            heap.append(entry)
            siftUp(heap.count - 1)
        } else if Self.worse(heap[0], entry) {
            heap[0] = entry
            siftDown(0)
        }
    }

    /// The kept entries, best first.
    func sorted() -> [Entry] {
        heap.sorted { Self.worse($1, $0) }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.worse(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let count = heap.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { return }
            var worst = left
            let right = left + 1
            if right < count && Self.worse(heap[right], heap[left]) { worst = right }
            guard Self.worse(heap[worst], heap[parent]) else { return }
            heap.swapAt(worst, parent)
            parent = worst
        }
    }
}

/// The `capacity` largest floats of a stream (a min-heap of them): `floor` is the smallest kept once
/// full, -infinity before. The exact scan keeps the best lower bounds with it.
struct FloatFloorHeap {
    let capacity: Int
    private var heap: [Float] = []

    init(capacity: Int) {
        self.capacity = max(0, capacity)
        heap.reserveCapacity(self.capacity)
    }

    var isFull: Bool { heap.count >= capacity }
    var floor: Float { isFull && capacity > 0 ? heap[0] : -.infinity }

    @inline(__always)
    mutating func offer(_ value: Float) {
        guard capacity > 0 else { return }
        if heap.count < capacity {
            heap.append(value)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard heap[child] < heap[parent] else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        } else if value > heap[0] {
            heap[0] = value
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < capacity else { break }
                var smallest = left
                if left + 1 < capacity && heap[left + 1] < heap[left] { smallest = left + 1 }
                guard heap[smallest] < heap[parent] else { break }
                heap.swapAt(smallest, parent)
                parent = smallest
            }
        }
    }
}
