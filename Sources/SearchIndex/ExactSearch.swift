import CSearchKernels
import Dispatch

/// One search's arguments after validation: a unit query and how many ranked hits to keep.
struct SearchRequest {
    let query: [Float]          // (dim), unit length
    let k: Int
    let offset: Int
    let minScore: Float?
    let filter: IDFilter?

    /// offset + k, capped at `limit` (and safe from overflow).
    func wanted(limit: Int) -> Int {
        let (sum, overflow) = offset.addingReportingOverflow(k)
        return overflow ? limit : min(sum, limit)
    }

    /// The ranked hits after `offset`, as the caller sees them.
    func page(_ selector: TopKSelector) -> [ScoredID] {
        let ranked = selector.sorted()
        guard offset < ranked.count else { return [] }
        return ranked[offset...].map { ScoredID(id: $0.id, score: Float($0.score)) }
    }
}

/// Exact top-k: the int8 matrix scanned once, then the f32 rows of every candidate that could be in
/// the top offset + k re-scored in double. No row is missed: an int8 score s is within
/// ε = ‖v − scale·codes‖₂ · ‖q‖₂ (+ float summation slack) of the exact one (Cauchy–Schwarz), so
/// only rows with s + ε ≥ L can belong, L being the (offset + k)-th largest s − ε. The ids and the
/// scores (to float rounding) are those of a search over the f32 rows in double precision.
enum ExactSearch {
    /// Float summation error of a 512-term int8·f32 dot of unit vectors is below 1e-5 (about
    /// 70 additions per lane at 6e-8 each); the bound adds it to ε.
    static let slack: Float = 1e-5

    static func search(_ request: SearchRequest, rows: QuantizedRows, matrix: EmbeddingMatrix) -> (hits: [ScoredID], total: Int) {
        guard rows.liveCount > 0 else { return ([], 0) }
        if let filter = request.filter, filter.count <= rows.liveCount / 16 {
            return searchAllowed(request, filter: filter, matrix: matrix)
        }
        return scan(request, rows: rows, matrix: matrix)
    }

    /// A selective filter: score each allowed id's f32 row directly, no scan.
    static func searchAllowed(_ request: SearchRequest, filter: IDFilter, matrix: EmbeddingMatrix) -> (hits: [ScoredID], total: Int) {
        var selector = TopKSelector(capacity: request.wanted(limit: filter.count))
        var total = 0
        let threshold = request.minScore
        request.query.withUnsafeBufferPointer { q in
            for id in filter.ids {
                guard let score = matrix.exactScore(of: id, query: q.baseAddress!) else { continue }
                if let threshold, !(Float(score) >= threshold) { continue }
                total += 1
                selector.offer(id: id, score: score)
            }
        }
        return (request.page(selector), total)
    }

    /// The whole int8 matrix scored, then the candidates re-scored exactly.
    static func scan(_ request: SearchRequest, rows: QuantizedRows, matrix: EmbeddingMatrix) -> (hits: [ScoredID], total: Int) {
        let slots = rows.slotCount
        let dim = rows.dim
        let filter = request.filter
        let wanted = request.wanted(limit: rows.liveCount)
        // The query quantized like the rows: the scan is then integer dots (exact in int32).
        let (queryCodes, queryScale, queryError) = quantized(request.query)
        let approx = scores(rows: rows, queryCodes: queryCodes, queryScale: queryScale)   // (slots)
        // |x·q − x̂·q̂| ≤ |x̂·e_q| + |e_x·q| ≤ ‖x̂‖‖e_q‖ + ‖e_x‖‖q‖, ‖x̂‖ ≤ 1 + ‖e_x‖: per row
        // ε = ‖e_x‖ · (‖q‖ + ‖e_q‖) + ‖e_q‖ · (1 + 1e-6) + slack.
        let queryNorm = Float(request.query.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
        let perError = queryNorm + queryError
        let fixedError = queryError * (1 + 1e-6) + slack
        // minScore is compared with the score a hit reports (its double rounded to float), so a
        // hit's own score used as minScore keeps it.
        let minScore = request.minScore
        var selector = TopKSelector(capacity: wanted)
        var total = 0
        var counted = false    // whether pass 2 counted `total` itself
        request.query.withUnsafeBufferPointer { qBuffer in
            let q = qBuffer.baseAddress!
            approx.withUnsafeBufferPointer { approx in
                rows.errors.withUnsafeBufferPointer { errors in
                    rows.live.withUnsafeBufferPointer { live in
                        rows.ids.withUnsafeBufferPointer { ids in
                            @inline(__always) func eligible(_ s: Int) -> Bool {
                                live[s] && (filter?.allows(ids[s]) ?? true)
                            }
                            // Pass 1: L, the wanted-th largest lower bound among eligible rows.
                            var lower = FloatFloorHeap(capacity: wanted)
                            if wanted > 0 {
                                var floor = lower.floor   // hoisted: it changes only when a row enters
                                for s in 0..<slots {
                                    let low = approx[s] - (errors[s] * perError + fixedError)
                                    if low <= floor { continue }
                                    if eligible(s) {
                                        lower.offer(low)
                                        floor = lower.floor
                                    }
                                }
                            }
                            let hitCut = lower.floor   // a row below it cannot be a hit
                            // Pass 2: every row whose upper bound reaches the cut is re-scored exactly.
                            // With minScore the pass also counts `total`: every row whose upper bound
                            // reaches minScore, re-scored only when its bounds straddle it.
                            if wanted == 0 && minScore == nil { return }
                            counted = minScore != nil
                            let cut = minScore.map { $0 - slack } ?? hitCut
                            for s in 0..<slots {
                                let bound = errors[s] * perError + fixedError
                                let high = approx[s] + bound
                                guard high >= cut, eligible(s) else { continue }
                                if let minScore, high < hitCut, approx[s] - bound >= minScore {
                                    total += 1   // surely above minScore, surely not a hit
                                    continue
                                }
                                guard let score = matrix.exactScore(of: ids[s], query: q) else { continue }
                                if let minScore, !(Float(score) >= minScore) { continue }
                                if minScore != nil { total += 1 }
                                selector.offer(id: ids[s], score: score)
                            }
                        }
                    }
                }
            }
        }
        if !counted { total = eligibleCount(rows: rows, filter: filter) }
        return (request.page(selector), total)
    }

    /// A query quantized like the rows: codes (dim), scale, and ‖q − scale · codes‖₂.
    static func quantized(_ query: [Float]) -> (codes: [Int8], scale: Float, error: Float) {
        var codes = [Int8](repeating: 0, count: query.count)   // (dim)
        var error: Float = 0
        let scale = query.withUnsafeBufferPointer { q in
            codes.withUnsafeMutableBufferPointer { sk_quantize_i8(q.baseAddress!, q.count, $0.baseAddress!, &error) }
        }
        return (codes, scale, error)
    }

    /// Int8 scores of every slot, the rows split between two threads from `parallelRows` on (one
    /// core's loads do not saturate the memory bus; measured in bench/results).
    static let parallelRows = 50_000

    static func scores(rows: QuantizedRows, queryCodes: [Int8], queryScale: Float, parts: Int? = nil) -> [Float] {
        let slots = rows.slotCount
        let dim = rows.dim
        var out = [Float](unsafeUninitializedCapacity: slots) { buffer, initialized in
            initialized = slots
        }
        let parts = parts ?? (slots >= parallelRows ? 2 : 1)
        rows.codes.withUnsafeBufferPointer { codes in
            rows.scales.withUnsafeBufferPointer { scales in
                queryCodes.withUnsafeBufferPointer { q in
                    out.withUnsafeMutableBufferPointer { out in
                        let job = ScanJob(codes: codes.baseAddress!, scales: scales.baseAddress!, rows: slots, dim: dim,
                                          query: q.baseAddress!, queryScale: queryScale, out: out.baseAddress!, parts: parts)
                        if parts == 1 { job.run(part: 0) } else { DispatchQueue.concurrentPerform(iterations: parts) { job.run(part: $0) } }
                    }
                }
            }
        }
        return out
    }

    /// How many live rows `filter` allows (all of them without one).
    static func eligibleCount(rows: QuantizedRows, filter: IDFilter?) -> Int {
        guard let filter else { return rows.liveCount }
        if filter.count <= rows.liveCount {
            return filter.ids.reduce(0) { $0 + (rows.slot(of: $1) != nil ? 1 : 0) }
        }
        var count = 0
        for s in 0..<rows.slotCount where rows.live[s] && filter.allows(rows.ids[s]) { count += 1 }
        return count
    }
}

/// One int8 scan split into `parts` row ranges, each written by one thread into its own range of
/// `out`: the pointers are shared, the ranges are not.
private struct ScanJob: @unchecked Sendable {
    let codes: UnsafePointer<Int8>     // (rows, dim)
    let scales: UnsafePointer<Float>   // (rows)
    let rows: Int
    let dim: Int
    let query: UnsafePointer<Int8>     // (dim)
    let queryScale: Float
    let out: UnsafeMutablePointer<Float>   // (rows)
    let parts: Int

    func run(part: Int) {
        let chunk = (rows + parts - 1) / parts
        let start = part * chunk
        let count = max(0, min(chunk, rows - start))
        guard count > 0 else { return }
        sk_scores_i8_i8(codes + start * dim, scales + start, count, dim, query, queryScale, out + start)
    }
}
