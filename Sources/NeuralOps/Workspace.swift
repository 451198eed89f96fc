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
