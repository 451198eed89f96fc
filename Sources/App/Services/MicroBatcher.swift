import Dispatch
import Foundation
import Synchronization

/// Runs what concurrent requests submit as one batch: a text query alone streams every weight of
/// the text tower once, so fifty queries that arrive together cost far less when they go through
/// the tower as one batch than as fifty passes fighting over two cores; images from concurrent
/// small uploads share the image tower's larger, faster GEMMs the same way.
///
/// No thread of its own: the request that finds the batcher idle starts a drain on a Dispatch
/// thread, which waits `window` for company (only then: under load, what queued during one batch
/// is the next batch at once), takes up to `maxItems` inputs (whole submissions), runs them, hands
/// each submission its outputs, and goes on while anything is queued. A submission of more than
/// `solo` inputs skips the queue and runs at once on a thread of its own, as every request did
/// before batching, so a 1,000-label `/classify` never holds up the short queries behind it.
final class MicroBatcher<Input: Sendable, Output: Sendable>: Sendable {
    typealias Result = (outputs: [Output], took: Duration)

    private struct Pending {
        let inputs: [Input]
        let deliver: @Sendable (Result) -> Void
    }

    private struct State {
        var queue: [Pending] = []
        var draining = false
    }

    let window: Duration
    let maxItems: Int
    let solo: Int
    /// Inputs in, one output per input in order; called from several threads at once only for
    /// solo submissions.
    private let run: @Sendable ([Input]) -> [Output]
    private let state = Mutex(State())

    init(window: Duration, maxItems: Int, solo: Int? = nil, run: @escaping @Sendable ([Input]) -> [Output]) {
        self.window = window
        self.maxItems = max(1, maxItems)
        self.solo = max(1, min(solo ?? maxItems, maxItems))
        self.run = run
    }

    /// `inputs`' outputs, in order, computed in a batch with whatever else is submitted meanwhile,
    /// and how long that batch ran.
    func submit(_ inputs: [Input]) async -> Result {
        guard !inputs.isEmpty else { return ([], .zero) }
        return await withCheckedContinuation { continuation in
            enqueue(Pending(inputs: inputs, deliver: { continuation.resume(returning: $0) }))
        }
    }

    /// `submit` for a caller already on a thread of its own (blocking work off the cooperative
    /// pool, as uploads are): waits for the batch.
    func submitAndWait(_ inputs: [Input]) -> Result {
        guard !inputs.isEmpty else { return ([], .zero) }
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result?>(nil)
        enqueue(Pending(inputs: inputs, deliver: { value in
            result.withLock { $0 = value }
            done.signal()
        }))
        done.wait()
        return result.withLock { $0! }
    }

    private func enqueue(_ pending: Pending) {
        guard pending.inputs.count <= solo else {
            DispatchQueue.global(qos: .userInitiated).async { self.deliver([pending]) }
            return
        }
        let startDrain = state.withLock { s in
            s.queue.append(pending)
            guard !s.draining else { return false }
            s.draining = true
            return true
        }
        if startDrain {
            DispatchQueue.global(qos: .userInitiated).async { self.drain() }
        }
    }

    private func drain() {
        if window > .zero, state.withLock({ $0.queue.reduce(0) { $0 + $1.inputs.count } }) < maxItems {
            let (seconds, attoseconds) = window.components
            Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) * 1e-18)
        }
        while let batch = nextBatch() { deliver(batch) }
    }

    /// Runs the submissions' inputs as one batch and hands each its outputs.
    private func deliver(_ batch: [Pending]) {
        let inputs = batch.flatMap(\.inputs)
        let began = ContinuousClock.now
        let outputs = run(inputs)
        let took = ContinuousClock.now - began
        precondition(outputs.count == inputs.count, "MicroBatcher: \(outputs.count) outputs for \(inputs.count) inputs")
        var start = 0
        for pending in batch {
            pending.deliver((Array(outputs[start..<start + pending.inputs.count]), took))
            start += pending.inputs.count
        }
    }

    /// Whole submissions up to `maxItems` inputs, in arrival order; nil (and the drain over) when
    /// nothing is queued.
    private func nextBatch() -> [Pending]? {
        state.withLock { s in
            guard !s.queue.isEmpty else {
                s.draining = false
                return nil
            }
            var count = s.queue[0].inputs.count, taken = 1
            while taken < s.queue.count, count + s.queue[taken].inputs.count <= maxItems {
                count += s.queue[taken].inputs.count
                taken += 1
            }
            defer { s.queue.removeFirst(taken) }
            return Array(s.queue.prefix(taken))
        }
    }
}
