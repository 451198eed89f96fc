/// Which ids a search may return (a date range, a folder), decided by the caller, which knows the
/// rows; the index applies it while it ranks, so a filtered search still fills k.
public struct IDFilter: Sendable {
    private let allowed: Set<Int64>

    /// Only these ids.
    public init(allowing ids: some Sequence<Int64>) {
        allowed = Set(ids)
    }

    public var count: Int { allowed.count }

    /// The allowed ids (a very selective filter is searched by visiting each of them).
    var ids: Set<Int64> { allowed }

    @inline(__always)
    public func allows(_ id: Int64) -> Bool { allowed.contains(id) }
}
