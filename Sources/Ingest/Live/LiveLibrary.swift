import CLIP
import Foundation
import LibraryStore

/// `serve --library DIR...`: each folder indexed in place on start, then kept in sync. Changes come
/// through inotify where it is available (applied once the folder has been quiet for `settle`);
/// a full scan every `scanInterval` is the fallback and the safety net (it also catches what
/// inotify cannot see, such as a network share or a hard link). If inotify is unavailable or its
/// watch limit is reached, the folder is scanned only, and the log says so. Blocking: `run` is the
/// body of one long-lived thread; `shouldStop` is polled at least every half second.
public struct LiveLibrary: Sendable {
    public let folders: [String]
    public let scanInterval: Duration
    public let board: LibraryStatusBoard
    let indexer: FolderIndexer
    let store: any LibraryStore
    let log: @Sendable (String) -> Void
    /// Changes are applied once no new event arrived for this long (a copy of many files is one batch).
    let settle: Duration
    /// Test hook: fewer inotify watches than the kernel allows.
    let maxWatches: Int

    public init(folders: [String], scanInterval: Duration, encoder: CLIPEncoder, store: any LibraryStore,
                board: LibraryStatusBoard, log: @escaping @Sendable (String) -> Void) {
        self.init(folders: folders, scanInterval: scanInterval, encoder: encoder, store: store, board: board,
                  settle: .milliseconds(300), maxWatches: .max, log: log)
    }

    init(folders: [String], scanInterval: Duration, encoder: CLIPEncoder, store: any LibraryStore,
         board: LibraryStatusBoard, settle: Duration, maxWatches: Int, log: @escaping @Sendable (String) -> Void) {
        self.folders = folders
        self.scanInterval = scanInterval
        self.board = board
        self.store = store
        self.log = log
        self.settle = settle
        self.maxWatches = maxWatches
        indexer = FolderIndexer(encoder: encoder, store: store, report: log)
    }

    /// The absolute, standardized form `serve --library` keeps (what `source` paths start with).
    public static func canonicalPath(_ path: String) -> String {
        URL(fileURLWithPath: (path as NSString).expandingTildeInPath).standardizedFileURL.resolvingSymlinksInPath().path
    }

    public func run(shouldStop: @escaping @Sendable () -> Bool) {
        let syncs = folders.map { LiveFolderSync(root: $0, indexer: indexer, store: store, board: board, report: log) }
        // Watches first, so nothing written during the first scan is missed.
        let watch = startWatching()
        for sync in syncs where !shouldStop() { scan(sync, shouldStop: shouldStop, first: true) }
        var nextScan = ContinuousClock.now + scanInterval
        var changed = Set<String>()
        var removed = Set<String>()
        var lastEvent = ContinuousClock.now
        while !shouldStop() {
            if let watch {
                // With changes waiting, wake when they have settled, not a whole poll later.
                let waiting = !(changed.isEmpty && removed.isEmpty)
                let timeout = waiting ? max(1, Self.milliseconds(settle - (ContinuousClock.now - lastEvent))) : 250
                let (events, limitReached) = watch.wait(timeout: Int32(min(timeout, 250)))
                if limitReached { stopWatching("the inotify watch limit was reached") }
                for event in events {
                    lastEvent = ContinuousClock.now
                    switch event {
                    case .changed(let path): changed.insert(path); removed.remove(path)
                    case .removed(let path): removed.insert(path); changed.remove(path)
                    case .overflow: nextScan = .now   // events were lost: a full scan finds everything
                    }
                }
                if events.isEmpty == false { markPending(changed.union(removed)) }
            } else {
                Thread.sleep(forTimeInterval: 0.25)
            }
            if !(changed.isEmpty && removed.isEmpty), ContinuousClock.now - lastEvent >= settle {
                apply(syncs, changed: changed, removed: removed, shouldStop: shouldStop)
                changed.removeAll()
                removed.removeAll()
            }
            if ContinuousClock.now >= nextScan {
                for sync in syncs where !shouldStop() { scan(sync, shouldStop: shouldStop, first: false) }
                nextScan = ContinuousClock.now + scanInterval
            }
        }
    }

    // MARK: - Steps

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }

    private func startWatching() -> InotifyWatch? {
        let watch: InotifyWatch
        do {
            watch = try InotifyWatch(maxWatches: maxWatches)
        } catch {
            log("library: inotify unavailable (\(error)); scanning every \(scanInterval) instead")
            return nil
        }
        var all = true
        for folder in folders {
            switch watch.watchTree(folder) {
            case .watching:
                board.update(folder) { $0.watching = true }
            case .limitReached(let count):
                all = false
                log("library: the inotify watch limit was reached after \(count) folders of \(folder) (raise fs.inotify.max_user_watches); scanning every \(scanInterval) instead")
            case .failed(let reason):
                all = false
                log("library: cannot watch \(reason); scanning every \(scanInterval) instead")
            }
        }
        if !all { stopWatching(nil); return nil }
        return watch
    }

    private func stopWatching(_ reason: String?) {
        if let reason { log("library: \(reason) (raise fs.inotify.max_user_watches); scanning every \(scanInterval) instead") }
        for folder in folders { board.update(folder) { $0.watching = false } }
    }

    private func scan(_ sync: LiveFolderSync, shouldStop: () -> Bool, first: Bool) {
        let start = ContinuousClock.now
        let summary = sync.scan(shouldStop: shouldStop)
        // Every scan is one line (once per interval): what it found, and what a scan costs here.
        log("library: \(first ? "first scan" : "scan") of \(sync.root) in \(ContinuousClock.now - start): \(describe(summary))")
    }

    private func apply(_ syncs: [LiveFolderSync], changed: Set<String>, removed: Set<String>, shouldStop: () -> Bool) {
        for sync in syncs {
            let inside = { (path: String) in LiveFolderSync.isUnder(path, sync.root) }
            let mine = (changed.filter(inside), removed.filter(inside))
            guard !(mine.0.isEmpty && mine.1.isEmpty) else { continue }
            let summary = sync.apply(changed: mine.0, removed: mine.1, shouldStop: shouldStop)
            log("library: \(sync.root): \(describe(summary))")
        }
    }

    private func markPending(_ paths: Set<String>) {
        for folder in folders {
            let count = paths.filter { LiveFolderSync.isUnder($0, folder) }.count
            if count > 0 { board.update(folder) { $0.pending = count } }
        }
    }

    private func describe(_ s: IndexSummary) -> String {
        "\(s.indexed) indexed, \(s.moved) moved, \(s.pruned) removed, \(s.skipped) unchanged, \(s.failed) failed, \(s.notImages) not images"
    }
}
