import Foundation

/// Scratch memory for one forward pass: one allocation, carved into regions, reused across layers,
/// freed when the workspace goes away. Not shared between threads: each call makes its own.
public final class Workspace {
    private let base: UnsafeMutablePointer<Float>
    public let capacity: Int
    private var used = 0

    /// Floats per alignment step: regions start on 64-byte boundaries.
    static let alignment = 16

    /// Rounds `count` up to the alignment, so callers can size the workspace as a sum of rounded regions.
    public static func rounded(_ count: Int) -> Int {
        (count + alignment - 1) / alignment * alignment
    }

    public init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: max(capacity, 1))
    }

    deinit { base.deallocate() }

    /// A region of `count` Floats (uninitialized). Traps if the workspace was sized too small: that is
    /// a bug in the caller's size computation, not a runtime condition.
    public func region(_ count: Int) -> UnsafeMutablePointer<Float> {
        let size = Workspace.rounded(count)
        precondition(used + size <= capacity, "Workspace: \(used) + \(size) exceeds capacity \(capacity)")
        defer { used += size }
        return base + used
    }

    /// Forgets every region handed out so far (their memory is reused by later `region` calls).
    public func reset() { used = 0 }
}

// MARK: - Reuse

extension Workspace {
    /// Runs `body` with a workspace of at least `capacity` floats, taken from the ones earlier calls
    /// gave back when one is big enough. A forward pass of 32 images takes ~70 MB of scratch: above
    /// glibc's mmap threshold, so a fresh allocation is mapped anew every pass and the kernel faults
    /// in and zeroes all of its pages (17k of them) while the GEMMs wait.
    public static func borrow<R>(capacity: Int, _ body: (Workspace) throws -> R) rethrows -> R {
        let workspace = WorkspacePool.shared.take(capacity: capacity) ?? Workspace(capacity: capacity)
        defer { WorkspacePool.shared.give(workspace) }
        workspace.reset()
        return try body(workspace)
    }
}

/// Workspaces not in use, at most one per core (concurrent requests each hold one while they run).
/// @unchecked Sendable: `free` is only touched under `lock`, and a workspace is used by one caller
/// at a time (taken out of the list while in use).
private final class WorkspacePool: @unchecked Sendable {
    static let shared = WorkspacePool()
    private let lock = NSLock()
    private var free: [Workspace] = []

    /// The smallest free workspace of at least `capacity` floats, removed from the pool.
    func take(capacity: Int) -> Workspace? {
        lock.withLock {
            guard let index = free.indices.filter({ free[$0].capacity >= capacity })
                .min(by: { free[$0].capacity < free[$1].capacity }) else { return nil }
            return free.remove(at: index)
        }
    }

    /// Keeps `workspace` for reuse; past one per core, the smallest kept one is dropped.
    func give(_ workspace: Workspace) {
        lock.withLock {
            free.append(workspace)
            if free.count > computeThreads, let smallest = free.indices.min(by: { free[$0].capacity < free[$1].capacity }) {
                free.remove(at: smallest)
            }
        }
    }
}
