import Foundation
import ModelHub

/// Renders fetch events on stderr: a redrawn bar (bytes, rate, ETA) on a terminal, plain lines
/// (every 10%) otherwise, so logs stay readable.
final class DownloadProgressDisplay: @unchecked Sendable {
    private let interactive: Bool
    private let lock = NSLock()
    // Guarded by `lock`.
    private var current: String?
    private var startedAt = Date()
    private var startOffset: Int64 = 0
    private var lastDraw = Date.distantPast
    private var lastDecile = -1
    private var lineOpen = false

    init(interactive: Bool) {
        self.interactive = interactive
    }

    var handle: FetchProgress {
        { [self] event in
            lock.lock()
            defer { lock.unlock() }
            render(event)
        }
    }

    /// Ends a half-drawn bar so an error message starts on its own line.
    func abandonLine() {
        lock.lock()
        defer { lock.unlock() }
        if lineOpen { write("\n") }
        lineOpen = false
    }

    // MARK: - Events

    private func render(_ event: FetchEvent) {
        switch event {
        case .listing(let url):
            write("fetch-model: listing \(url.absoluteString)\n")
        case .alreadyPresent(let file):
            write("fetch-model: \(file.path) is already present (\(file.checksum.algorithm) matches)\n")
        case .started(let file, let offset):
            current = file.path
            startedAt = Date()
            startOffset = offset
            lastDecile = -1
            lastDraw = .distantPast
            let resumed = offset > 0 ? ", resuming at \(Self.bytes(offset))" : ""
            if !interactive { write("fetch-model: downloading \(file.path) (\(Self.bytes(file.size))\(resumed))\n") }
        case .progress(let file, let received):
            draw(file, received: received)
        case .finished(let file):
            if interactive, current == file.path { draw(file, received: file.size, force: true) }
            if lineOpen { write("\n") }
            lineOpen = false
            write("fetch-model: \(file.path) verified (\(file.checksum.algorithm))\n")
            current = nil
        }
    }

    private func draw(_ file: HubFile, received: Int64, force: Bool = false) {
        let now = Date()
        let elapsed = now.timeIntervalSince(startedAt)
        let rate = elapsed > 0 ? Double(received - startOffset) / elapsed : 0
        let fraction = file.size > 0 ? Double(received) / Double(file.size) : 1
        let eta = rate > 0 ? Double(file.size - received) / rate : nil
        if interactive {
            guard force || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
            lastDraw = now
            let width = 24
            let filled = min(width, Int(fraction * Double(width)))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            let line = String(format: "%@ [%@] %3d%% %@/%@ %@/s ETA %@", file.path, bar, Int(fraction * 100),
                Self.bytes(received), Self.bytes(file.size), Self.bytes(Int64(rate)), Self.duration(eta))
            write("\r\u{1B}[K" + line)
            lineOpen = true
        } else {
            let decile = Int(fraction * 10)
            guard decile > lastDecile, decile < 10 || force else { return }
            lastDecile = decile
            if decile == 0 { return }
            write("fetch-model: \(file.path) \(decile * 10)% (\(Self.bytes(received)) of \(Self.bytes(file.size)), "
                + "\(Self.bytes(Int64(rate)))/s, ETA \(Self.duration(eta)))\n")
        }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    // MARK: - Formatting

    static func bytes(_ count: Int64) -> String {
        let units = ["B", "kB", "MB", "GB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite, seconds < 360_000 else { return "--:--" }
        let total = Int(seconds.rounded())
        return total >= 3600
            ? String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
            : String(format: "%d:%02d", total / 60, total % 60)
    }
}
