import Foundation

/// Progress of a long command on stderr: a redrawn bar with rate and ETA on a terminal, a plain line
/// now and then otherwise (logs, CI), so stdout stays clean JSON. Thread-safe (one lock), so
/// workers may report failures while the main thread draws.
final class ProgressReporter: @unchecked Sendable {
    private let lock = NSLock()
    let total: Int
    let label: String
    private let isTerminal: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var lastLineDone = 0

    init(total: Int, label: String) {
        self.total = total
        self.label = label
        isTerminal = isatty(STDERR_FILENO) == 1
    }

    /// `done` items of `total` are finished.
    func update(done: Int, force: Bool = false) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        if isTerminal {
            guard force || now.timeIntervalSince(lastDraw) >= 0.1 || done == total else { return }
            lastDraw = now
            let width = 30
            let filled = total > 0 ? width * done / total : width
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            let percent = total > 0 ? 100 * Double(done) / Double(total) : 100
            let line = "\r\u{1B}[2K\(label) [\(bar)] \(done)/\(total) "
                + String(format: "%5.1f%% %.1f files/s", percent, rate) + " ETA \(Self.clock(eta))"
            FileHandle.standardError.write(Data(line.utf8))
        } else {
            // One line per ~10% (and at the end), never per file.
            let step = max(1, total / 10)
            guard force || done - lastLineDone >= step || (done == total && done != lastLineDone) else { return }
            lastLineDone = done
            let line = "\(label): \(done)/\(total) files, " + String(format: "%.1f files/s", rate) + ", ETA \(Self.clock(eta))\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    /// Ends the bar's line on a terminal.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// Messages (a failed file) printed without breaking the bar.
    func note(_ message: String) {
        lock.lock()
        defer { lock.unlock() }
        let prefix = isTerminal ? "\r\u{1B}[2K" : ""
        FileHandle.standardError.write(Data((prefix + message + "\n").utf8))
        lastDraw = .distantPast
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }
}
