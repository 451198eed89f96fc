import Synchronization

/// At most `running` image jobs (decode + encode) at once and `queued` waiting for a turn; one more
/// is refused at once with 503 `busy` and `Retry-After`, so a flood of uploads queues a bounded
/// amount of work and memory instead of all of it.
final class ImageJobLimiter: Sendable {
    private struct State {
        var active = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
        /// Waiters that decided to wait but have not parked their continuation yet.
        var arriving = 0
        /// Turns handed over while no continuation was parked.
        var handedOver = 0
    }

    let running: Int
    let queued: Int
    private let state = Mutex(State())

    init(running: Int, queued: Int) {
        self.running = max(1, running)
        self.queued = max(0, queued)
    }

    /// Runs `work` when a turn is free; 503 when the queue is full.
    func run<T: Sendable>(_ work: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await work()
    }

    private enum Decision { case go, wait, busy }

    private func acquire() async throws(APIError) {
        let decision: Decision = state.withLock { s in
            if s.active < running { s.active += 1; return .go }
            if s.waiting.count + s.arriving >= queued { return .busy }
            s.arriving += 1
            return .wait
        }
        switch decision {
        case .go:
            return
        case .busy:
            var error = APIError(.serviceUnavailable, "busy",
                                 "the server is decoding and encoding as many images as it can; try again shortly")
            error.headers[.retryAfter] = "1"
            throw error
        case .wait:
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready: Bool = state.withLock { s in
                    s.arriving -= 1
                    if s.handedOver > 0 { s.handedOver -= 1; return true }
                    s.waiting.append(continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    /// Hands the turn to the first waiter (the active count stays), or frees it.
    private func release() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { s in
            if !s.waiting.isEmpty { return s.waiting.removeFirst() }
            if s.arriving > s.handedOver { s.handedOver += 1; return nil }
            s.active -= 1
            return nil
        }
        next?.resume()
    }
}
