import CNeuralKernels
import Dispatch
import Foundation
import Synchronization

/// Runs `body(0..<iterations)` across the engine's cores and returns when all have run: iteration
/// work is taken by the calling thread and by `computeThreads - 1` pool threads that stay awake
/// (spinning) for a short while after each job. One iteration (or one core) runs inline on the
/// caller, so callers pass their worker count as it is.
///
/// Why not `DispatchQueue.concurrentPerform`: a forward pass is a chain of short parallel steps (a
/// 50-row GEMM on one image takes ~0.3 ms per core, and one image makes 60 such calls), and waking a
/// sleeping dispatch worker for each step costs tens of microseconds plus a cold start. ONNX Runtime's
/// pool spins between steps for the same reason. When the pool is already running another caller's
/// job (concurrent requests in the server), this falls back to `concurrentPerform`.
public func parallelFor(_ iterations: Int, _ body: @escaping @Sendable (Int) -> Void) {
    if iterations <= 1 || computeThreads == 1 {
        for i in 0..<iterations { body(i) }
        return
    }
    guard let pool = ComputePool.shared, pool.submit.try() else {
        DispatchQueue.concurrentPerform(iterations: iterations, execute: body)
        return
    }
    defer { pool.submit.unlock() }
    pool.run(iterations, body)
}

/// One `parallelFor` call: its own counters, so a worker that wakes late and still holds an old job
/// only finds it used up (and never calls its body). The body escapes for that reason: a late
/// worker may still hold the job, and so the closure, after the caller has returned.
private final class ParallelJob: Sendable {
    let iterations: Int
    let body: @Sendable (Int) -> Void
    let next = Atomic<Int>(0)
    let finished = Atomic<Int>(0)

    init(iterations: Int, body: @escaping @Sendable (Int) -> Void) {
        self.iterations = iterations
        self.body = body
    }

    /// Takes iterations until none are left.
    func work() {
        while true {
            let i = next.add(1, ordering: .relaxed).oldValue
            guard i < iterations else { return }
            body(i)
            finished.add(1, ordering: .releasing)
        }
    }
}

/// The pool behind `parallelFor`: `computeThreads - 1` threads that take iterations of the current
/// job, spin for a while after it, then sleep until the next.
final class ComputePool: Sendable {
    static let shared: ComputePool? = computeThreads > 1 ? ComputePool(workers: computeThreads - 1) : nil

    /// Held by the one caller whose job the pool runs; others fall back to `concurrentPerform`.
    let submit = NSLock()
    private let current = Mutex<ParallelJob?>(nil)
    private let generation = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let wake = NSCondition()

    /// How long an idle worker spins before it sleeps: longer than the gap between two steps of a
    /// forward pass (a layer norm, a softmax), short enough not to hold a core after the pass ends.
    private static let spinNanoseconds: UInt64 = 200_000

    private init(workers: Int) {
        for index in 0..<workers {
            let thread = Thread { [unowned self] in self.workerLoop() }
            thread.name = "clip-compute-\(index + 1)"
            thread.start()
        }
    }

    /// Runs a job with the workers; the caller holds `submit`.
    func run(_ iterations: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let job = ParallelJob(iterations: iterations, body: body)
        current.withLock { $0 = job }
        generation.add(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            wake.lock()
            wake.broadcast()
            wake.unlock()
        }
        job.work()
        // Wait for the workers' iterations: spin briefly, then give the core away (a descheduled
        // worker on a shared machine needs it).
        var spins = 0
        while job.finished.load(ordering: .acquiring) < iterations {
            spins += 1
            if spins < 4096 { nk_cpu_relax() } else { sched_yield() }
        }
        current.withLock { $0 = nil }
    }

    private func workerLoop() {
        var seen = 0
        while true {
            seen = waitForJob(after: seen)
            current.withLock { $0 }?.work()
        }
    }

    /// Spins until the generation moves past `seen`, then sleeps on `wake`; returns the new generation.
    private func waitForJob(after seen: Int) -> Int {
        let start = DispatchTime.now().uptimeNanoseconds
        var spins = 0
        while true {
            let now = generation.load(ordering: .acquiring)
            if now != seen { return now }
            spins += 1
            if spins % 256 != 0 {
                nk_cpu_relax()
                continue
            }
            if DispatchTime.now().uptimeNanoseconds - start < Self.spinNanoseconds { continue }
            wake.lock()
            sleepers.add(1, ordering: .sequentiallyConsistent)
            while generation.load(ordering: .sequentiallyConsistent) == seen {
                wake.wait()
            }
            sleepers.subtract(1, ordering: .sequentiallyConsistent)
            wake.unlock()
        }
    }
}
