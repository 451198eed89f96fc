// MARK: - Byte-pair merges of one word

/// Applies the ranked merges to one word, with the result of OpenAI's `bpe()` loop
/// (https://github.com/openai/CLIP/blob/main/clip/simple_tokenizer.py): repeatedly take the
/// lowest-ranked pair present and merge all its occurrences left to right.
///
/// Done with a heap of (rank, position) over a linked list, so a pathological 100k-letter word
/// costs O(n log n) instead of O(n²). Each round takes every queued occurrence of the lowest rank
/// first and merges them in position order, exactly like one pass of the reference loop; pairs
/// created by that pass wait for later rounds (they never have the same rank: a merged symbol is
/// longer than both halves, so it cannot re-form the pair being merged).
struct BytePairEncoder {
    let vocabulary: Vocabulary

    func encode(utf8 bytes: some Collection<UInt8>) -> [Int32] {
        let n = bytes.count
        if n == 0 { return [] }
        var symbols = [Int32]()
        symbols.reserveCapacity(n)
        for b in bytes { symbols.append(vocabulary.byteSymbol[Int(b)]) }
        symbols[n - 1] = vocabulary.byteSymbolAtEnd[Int(bytes[bytes.index(bytes.startIndex, offsetBy: n - 1)])]
        if n == 1 { return symbols }

        let dead: Int32 = -1
        var next = (0..<n).map { Int32($0 + 1) }  // n = end
        var prev = (0..<n).map { Int32($0 - 1) }  // -1 = start
        var heap = MinHeap()

        func rank(at i: Int) -> Int32? {
            let j = Int(next[i])
            guard j < n else { return nil }
            return vocabulary.merges[Vocabulary.pairKey(symbols[i], symbols[j])]?.rank
        }
        func push(_ i: Int) {
            if let r = rank(at: i) { heap.push(UInt64(r) << 32 | UInt64(i)) }
        }
        for i in 0..<(n - 1) { push(i) }

        var round: [Int] = []
        while let top = heap.peek {
            let r = Int32(truncatingIfNeeded: top >> 32)
            round.removeAll(keepingCapacity: true)
            while let t = heap.peek, t >> 32 == UInt64(r) {
                round.append(Int(truncatingIfNeeded: heap.pop()! & 0xFFFF_FFFF))
            }
            // Heap order within one rank is position order, i.e. left to right.
            for i in round {
                guard symbols[i] != dead, rank(at: i) == r else { continue }  // stale or overlapped
                let j = Int(next[i])
                let merge = vocabulary.merges[Vocabulary.pairKey(symbols[i], symbols[j])]!
                symbols[i] = merge.merged
                symbols[j] = dead
                let after = Int(next[j])
                next[i] = Int32(after)
                if after < n { prev[after] = Int32(i) }
                let before = Int(prev[i])
                if before >= 0 { push(before) }
                push(i)
            }
        }
        var result: [Int32] = []
        var i = 0
        while i < n {
            result.append(symbols[i])
            i = Int(next[i])
        }
        return result
    }
}

/// A binary min-heap of packed (rank << 32 | position) keys.
struct MinHeap {
    private var items: [UInt64] = []

    var peek: UInt64? { items.first }

    mutating func push(_ x: UInt64) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent] <= items[i] { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var i = 0
        let count = items.count
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var smallest = i
            if l < count, items[l] < items[smallest] { smallest = l }
            if r < count, items[r] < items[smallest] { smallest = r }
            if smallest == i { break }
            items.swapAt(i, smallest)
            i = smallest
        }
        return first
    }
}
