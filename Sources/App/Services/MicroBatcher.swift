import Dispatch
import Foundation
import Synchronization

/// Runs what concurrent requests submit as one batch: a text query alone streams every weight of
/// the text tower once, so fifty queries that arrive together cost far less when they go through
/// the tower as one batch than as fifty passes fighting over two cores; images from concurrent
/// small uploads share the image tower's larger, faster GEMMs the same way.
///
/// One thread of its own drains the queue: a batch starts `window` after its oldest submission
/// arrived (at once under load: what queued during one batch is the next), takes whole submissions
/// up to `maxItems` inputs, runs them and hands each submission its outputs. The thread is its own
/// so that callers blocked in `submitAndWait` (upload threads) never wait for a Dispatch thread to
/// free up to run their batch. A submission of more than `solo` inputs skips the queue and runs at
/// once on a Dispatch thread, as every request did before batching, so a 1,000-label `/classify`
/// never holds up the short queries behind it. The thread ends when the batcher is released.
final class MicroBatcher<Input: Sendable, Output: Sendable>: Sendable {
    typealias Result = (outputs: [Output], took: Duration)

    fileprivate struct Pending {
        let inputs: [Input]
        let arrived: ContinuousClock.Instant
        let deliver: @Sendable (Result) -> Void
    }

    /// What the caller's side and the drain thread share; `condition` guards the two variables.
    private final class Shared: @unchecked Sendable {
        let condition = NSCondition()
        var queue: [Pending] = []
        var stopped = false
    }

    let window: Duration
    let maxItems: Int
    let solo: Int
    /// Inputs in, one output per input in order; called from several threads at once only for
    /// solo submissions.
    private let run: @Sendable ([Input]) -> [Output]
    private let shared = Shared()

    init(window: Duration, maxItems: Int, solo: Int? = nil, run: @escaping @Sendable ([Input]) -> [Output]) {
        self.window = window
        self.maxItems = max(1, maxItems)
        self.solo = max(1, min(solo ?? maxItems, maxItems))
        self.run = run
        let (shared, window, maxItems) = (shared, window, self.maxItems)
        let thread = Thread { Self.drain(shared, window: window, maxItems: maxItems, run: run) }
        thread.name = "clip-server batches"
        thread.start()
    }

    deinit {
        shared.condition.lock()
        shared.stopped = true
        shared.condition.signal()
        shared.condition.unlock()
    }

    /// `inputs`' outputs, in order, computed in a batch with whatever else is submitted meanwhile,
    /// and how long that batch ran.
    func submit(_ inputs: [Input]) async -> Result {
        guard !inputs.isEmpty else { return ([], .zero) }
        return await withCheckedContinuation { continuation in
            enqueue(inputs, deliver: { continuation.resume(returning: $0) })
        }
    }

    /// `submit` for a caller already on a thread of its own (blocking work off the cooperative
    /// pool, as uploads are): waits for the batch.
    func submitAndWait(_ inputs: [Input]) -> Result {
        guard !inputs.isEmpty else { return ([], .zero) }
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result?>(nil)
        enqueue(inputs, deliver: { value in
            result.withLock { $0 = value }
            done.signal()
        })
        done.wait()
        return result.withLock { $0! }
    }

    private func enqueue(_ inputs: [Input], deliver: @escaping @Sendable (Result) -> Void) {
        let pending = Pending(inputs: inputs, arrived: .now, deliver: deliver)
        guard inputs.count <= solo else {
            let run = self.run
            DispatchQueue.global(qos: .userInitiated).async { Self.deliver([pending], run: run) }
            return
        }
        shared.condition.lock()
        shared.queue.append(pending)
        shared.condition.signal()
        shared.condition.unlock()
    }

    // MARK: - The drain thread

    private static func drain(_ shared: Shared, window: Duration, maxItems: Int, run: @Sendable ([Input]) -> [Output]) {
        while let batch = nextBatch(shared, window: window, maxItems: maxItems) { deliver(batch, run: run) }
    }

    /// Waits for a submission, then until `window` after it arrived unless `maxItems` inputs are
    /// queued sooner; returns whole submissions up to `maxItems` inputs (at least one), in arrival
    /// order. Nil once the batcher is released and nothing is left.
    private static func nextBatch(_ shared: Shared, window: Duration, maxItems: Int) -> [Pending]? {
        shared.condition.lock()
        defer { shared.condition.unlock() }
        while shared.queue.isEmpty {
            if shared.stopped { return nil }
            shared.condition.wait()
        }
        let deadline = Date() + seconds(window - (ContinuousClock.now - shared.queue[0].arrived))
        while !shared.stopped, shared.queue.reduce(0, { $0 + $1.inputs.count }) < maxItems,
              shared.condition.wait(until: deadline) {}
        var count = shared.queue[0].inputs.count, taken = 1
        while taken < shared.queue.count, count + shared.queue[taken].inputs.count <= maxItems {
            count += shared.queue[taken].inputs.count
            taken += 1
        }
        defer { shared.queue.removeFirst(taken) }
        return Array(shared.queue.prefix(taken))
    }

    /// Runs the submissions' inputs as one batch and hands each its outputs.
    private static func deliver(_ batch: [Pending], run: @Sendable ([Input]) -> [Output]) {
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

    private static func seconds(_ duration: Duration) -> TimeInterval {
        let (whole, attoseconds) = duration.components
        return Double(whole) + Double(attoseconds) * 1e-18
    }
}
