import Dispatch
import NIOCore
import NIOPosix
import Synchronization

/// The store protocol is synchronous; postgres-nio is async. This runs async database work to
/// completion and waits for it on the calling thread, without ever needing the thread it blocks.
///
/// Why it cannot deadlock: a blocked caller may be a thread of Swift's cooperative pool (a
/// Hummingbird handler calls the store directly) or one of Hummingbird's NIO event loops. If the
/// awaited work needed one of those threads to make progress (a continuation resumed on the global
/// executor, a channel on the shared `MultiThreadedEventLoopGroup.singleton`), two blocked callers on
/// a two-core machine would wait forever. So postgres-nio gets an event loop group of its own
/// (`group`: its sockets live there), and every task we start prefers `executor`, a task executor
/// that runs jobs on those same loops: the awaited work never touches the cooperative pool or
/// Hummingbird's loops. Blocking on one of our own loops would deadlock, so it is refused.
final class BlockingBridge: Sendable {
    /// Process-wide, like NIO's singletons: every PostgreSQL store of the process shares it; never shut down.
    static let shared = BlockingBridge(threads: 2)

    let group: MultiThreadedEventLoopGroup
    let executor: EventLoopTaskExecutor

    private init(threads: Int) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        executor = EventLoopTaskExecutor(group: group)
    }

    /// Starts `body` on our loops and returns at once (a long-running task, e.g. the pool's `run()`).
    @discardableResult
    func start(_ body: @escaping @Sendable () async -> Void) -> Task<Void, Never> {
        Task(executorPreference: executor, operation: body)
    }

    /// Runs `body` on our loops and waits for its result; `timeout` cancels it and fails.
    func wait<T: Sendable>(timeout: Duration? = nil, _ body: @escaping @Sendable () async throws -> T) throws -> T {
        precondition(!isOurThread, "blocking on the PostgreSQL event loop would deadlock")
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<T, any Error>?>(nil)
        let task = Task(executorPreference: executor) {
            let outcome: Result<T, any Error>
            do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
            done.signal()
        }
        if let timeout {
            let (seconds, attoseconds) = timeout.components
            let nanos = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
            if done.wait(timeout: .now() + .nanoseconds(nanos)) == .timedOut {
                task.cancel()
                done.wait()
                if case .success(let value)? = result.withLock({ $0 }) { return value }
                throw BridgeTimeout()
            }
        } else {
            done.wait()
        }
        return try result.withLock { $0! }.get()
    }

    private var isOurThread: Bool {
        group.makeIterator().contains { $0.inEventLoop }
    }
}

struct BridgeTimeout: Error, CustomStringConvertible {
    var description: String { "timed out" }
}

/// A `TaskExecutor` over an event loop group: each job runs on one of its loops.
final class EventLoopTaskExecutor: TaskExecutor {
    let group: MultiThreadedEventLoopGroup

    init(group: MultiThreadedEventLoopGroup) { self.group = group }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        group.next().execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
