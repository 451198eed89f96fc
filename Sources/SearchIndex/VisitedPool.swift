#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which slots one graph search has visited: a generation tag per slot, so starting a search is
/// one increment instead of clearing an array (hnswlib's visited lists).
final class VisitedList {
    private var tags: UnsafeMutablePointer<UInt32>   // (capacity)
    private var capacity: Int
    private var generation: UInt32 = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 1024)
        tags = .allocate(capacity: self.capacity)
        tags.initialize(repeating: 0, count: self.capacity)
    }

    deinit { tags.deallocate() }

    /// Starts a search over `slots` slots: nothing visited.
    func reset(slots: Int) {
        if slots > capacity {
            tags.deallocate()
            capacity = max(slots, capacity * 2)
            tags = .allocate(capacity: capacity)
            tags.initialize(repeating: 0, count: capacity)
            generation = 0
        }
        generation &+= 1
        if generation == 0 {
            tags.update(repeating: 0, count: capacity)
            generation = 1
        }
    }

    /// Marks `slot`; true when it was already marked in this search.
    @inline(__always)
    func visit(_ slot: Int32) -> Bool {
        let p = tags + Int(slot)
        if p.pointee == generation { return true }
        p.pointee = generation
        return false
    }
}

/// Visited lists for concurrent searches: each search borrows one and gives it back.
final class VisitedPool: @unchecked Sendable {
    private var free: [VisitedList] = []
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withList<T>(slots: Int, _ body: (VisitedList) throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        let list = free.popLast() ?? VisitedList(capacity: slots)
        pthread_mutex_unlock(mutex)
        defer {
            pthread_mutex_lock(mutex)
            free.append(list)
            pthread_mutex_unlock(mutex)
        }
        list.reset(slots: slots)
        return try body(list)
    }
}
