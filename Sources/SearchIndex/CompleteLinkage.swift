/// Complete-linkage agglomerative clustering cut at a threshold, on a sparse similarity graph: the
/// pairs given are the ones scoring ≥ the threshold; every pair not given scores below it.
///
/// The rule: start with every node alone; repeatedly merge the two clusters whose *lowest* cross
/// pair scores highest (complete linkage), as long as that lowest pair is ≥ the threshold. So in
/// every cluster every two members score ≥ the threshold, and a chain a~b~c whose ends are not
/// similar does not become one cluster (as connected components would make it). Ties: the pair of
/// clusters made first (lower numbers; nodes are numbered in the order given, merged clusters after
/// them in merge order).
///
/// Only clusters fully linked to each other are tracked (Lance-Williams for complete linkage:
/// link(A∪B, C) = min(link(A, C), link(B, C)), defined only when both are), with a max-heap of
/// candidate merges and stale entries skipped, so the work grows with the pairs, not nodes².
enum CompleteLinkage {
    struct Cluster: Equatable {
        /// Node numbers, in merge order.
        var members: [Int]
        /// The lowest score between two members (+∞ for a single node).
        var score: Float
    }

    /// The clusters of two or more nodes. `pairs`: (a, b, score) with a ≠ b in 0..<nodeCount, each
    /// unordered pair at most once.
    static func clusters(nodeCount: Int, pairs: [(a: Int, b: Int, score: Float)]) -> [Cluster] {
        var links: [[Int: Float]] = Array(repeating: [:], count: nodeCount)   // cluster → (linked cluster → linkage)
        var members: [[Int]] = (0..<nodeCount).map { [$0] }
        var scores = [Float](repeating: .infinity, count: nodeCount)
        var alive = [Bool](repeating: true, count: nodeCount)
        var heap = MergeHeap()
        for pair in pairs {
            links[pair.a][pair.b] = pair.score
            links[pair.b][pair.a] = pair.score
            heap.push(.init(link: pair.score, a: min(pair.a, pair.b), b: max(pair.a, pair.b)))
        }
        while let best = heap.pop() {
            guard alive[best.a] && alive[best.b] else { continue }   // one side merged since
            let merged = links.count
            let (a, b) = (best.a, best.b)
            // The merged cluster stays linked to the clusters fully linked to both sides.
            let (small, large) = links[a].count <= links[b].count ? (a, b) : (b, a)
            var mergedLinks: [Int: Float] = [:]
            for (other, link) in links[small] where other != large {
                if let otherLink = links[large][other] { mergedLinks[other] = min(link, otherLink) }
            }
            for other in links[a].keys where other != b { links[other][a] = nil }
            for other in links[b].keys where other != a { links[other][b] = nil }
            for (other, link) in mergedLinks {
                links[other][merged] = link
                heap.push(.init(link: link, a: other, b: merged))
            }
            links[a] = [:]
            links[b] = [:]
            links.append(mergedLinks)
            members.append(members[a] + members[b])
            members[a] = []
            members[b] = []
            scores.append(min(scores[a], scores[b], best.link))
            alive[a] = false
            alive[b] = false
            alive.append(true)
        }
        return members.indices.compactMap { c in
            alive[c] && members[c].count >= 2 ? Cluster(members: members[c], score: scores[c]) : nil
        }
    }

    /// Candidate merges, highest linkage first, then the lower cluster numbers.
    struct MergeHeap {
        struct Entry {
            let link: Float
            let a: Int   // a < b
            let b: Int
        }

        private var items: [Entry] = []

        /// `x` is merged before `y`.
        @inline(__always)
        static func before(_ x: Entry, _ y: Entry) -> Bool {
            if x.link != y.link { return x.link > y.link }
            return x.a != y.a ? x.a < y.a : x.b < y.b
        }

        mutating func push(_ entry: Entry) {
            items.append(entry)
            var child = items.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard Self.before(items[child], items[parent]) else { break }
                items.swapAt(child, parent)
                child = parent
            }
        }

        mutating func pop() -> Entry? {
            guard let top = items.first else { return nil }
            let last = items.removeLast()
            guard !items.isEmpty else { return top }
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var best = parent
                if left < items.count && Self.before(items[left], items[best]) { best = left }
                if right < items.count && Self.before(items[right], items[best]) { best = right }
                guard best != parent else { return top }
                items.swapAt(parent, best)
                parent = best
            }
        }
    }
}
