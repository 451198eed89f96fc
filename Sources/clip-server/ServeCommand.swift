import App
import ArgumentParser
import CLIP
import Foundation
import Ingest
import LibraryStore
import Logging

/// `clip-server serve`: the HTTP API of DESIGN.md 3. The port opens at once (`/healthz` answers,
/// `/readyz` says 503) while the model and the index load; SIGTERM/SIGINT shut it down gracefully
/// (in-flight requests finish). Prints one JSON line `{"listening":"http://HOST:PORT"}` on stdout
/// once bound, so scripts using `--port 0` learn the port. The model loads in `ModelLoadingService`;
/// with the demo model (a `demo.json` in the model folder) it warns that the demo is in use and
/// the service indexes its gallery on first start.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve search, indexing and the web page over HTTP."
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var store: StoreOptions
    @OptionGroup var decodeOptions: DecodeOptions

    @Option(name: .long, help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "Port to listen on (0 picks a free one).")
    var port: Int = 8080

    @Option(name: .long, help: "Require `Authorization: Bearer KEY` on POST /index and DELETE (default: $CLIP_API_KEY).")
    var apiKey: String?

    @Option(name: .long, help: "A host name clients may reach the server by, besides loopback names and IP addresses (repeatable; others get 403).")
    var allowedHost: [String] = []

    @Option(name: .long, help: ArgumentHelp("Seconds before an idle connection (or one whose request headers have not arrived) is closed.", visibility: .hidden))
    var idleTimeout: Int = 30

    @Option(name: .long, help: "A photo folder to index in place and keep in sync while the server runs (repeatable).")
    var library: [String] = []

    @Option(name: .long, help: "Seconds between full scans of the --library folders (inotify reports changes in between; where it cannot, the scan is all there is).")
    var scanInterval: Int = 60

    @Option(name: .long, help: "Largest request body in MiB; larger is 413.")
    var maxBodyMb: Int = 32

    @Option(name: .long, help: "Milliseconds the first of several concurrent requests' texts (or images) waits for the others to share its pass through the model (0, the default: no wait; what queued during a pass is the next pass).")
    var batchWindowMs: Double = 0

    @Option(name: .long, help: "Texts per pass through the text tower (1: every request alone).")
    var textBatchMax: Int = ServerSettings.maxTexts

    @Option(name: .long, help: "Images per pass through the image tower (1: every request alone).")
    var imageBatchMax: Int = 32

    @Option(name: .customLong("public"), help: "Serve the page and openapi.yaml from this folder (default: the copy of Public/ built into the binary).")
    var publicDirectory: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535, got \(port)") }
        guard (1...3600).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be between 1 and 3600, got \(idleTimeout)") }
        guard (1...4096).contains(maxBodyMb) else { throw ValidationError("--max-body-mb must be between 1 and 4096, got \(maxBodyMb)") }
        guard (0...1000).contains(batchWindowMs) else { throw ValidationError("--batch-window-ms must be between 0 and 1000, got \(batchWindowMs)") }
        guard (1...256).contains(imageBatchMax) else { throw ValidationError("--image-batch-max must be between 1 and 256, got \(imageBatchMax)") }
        guard (1...ServerSettings.maxTexts).contains(textBatchMax) else {
            throw ValidationError("--text-batch-max must be between 1 and \(ServerSettings.maxTexts), got \(textBatchMax)")
        }
        guard (1...86_400).contains(scanInterval) else { throw ValidationError("--scan-interval must be between 1 and 86400 seconds, got \(scanInterval)") }
        for folder in library {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: LiveLibrary.canonicalPath(folder), isDirectory: &isDirectory),
                  isDirectory.boolValue else { throw ValidationError("--library \(folder) is not a folder") }
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let settings = ServerSettings(
            maxBodyBytes: maxBodyMb << 20,
            apiKey: apiKey ?? environment["CLIP_API_KEY"],
            publicDirectory: publicDirectory.map { URL(fileURLWithPath: $0) },
            allowedHosts: [host] + allowedHost,
            idleTimeout: .seconds(idleTimeout))

        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "clip-server")
        logger.logLevel = .info

        // Canonical paths, once: what `source` paths start with, and what /library reports.
        let folders = Array(Set(library.map(LiveLibrary.canonicalPath))).sorted()
        let backend = Backend(libraryFolders: folders, batchWindow: .microseconds(Int64(batchWindowMs * 1000)),
                              textBatchMax: textBatchMax, imageBatchMax: imageBatchMax)
        let live = folders.isEmpty ? nil : ModelLoadingService.LiveFolders(folders: folders, scanInterval: .seconds(scanInterval))
        let (modelOptions, store, fastDecode) = (self.modelOptions, self.store, decodeOptions.fastDecode)
        let demo = DemoModel.detect(modelDirectory: modelOptions.directory)
        if let problem = demo?.problem { logger.warning("demo model: \(problem); using defaults") }
        let gallery = demo.map { DemoGallery(demo: $0, databaseURL: store.databaseURL, logger: logger) }
        let openLog = logger
        let loader = ModelLoadingService(backend: backend, demo: demo, gallery: gallery, live: live, location: store.displayName,
                                         logger: logger) {
            let encoder = try modelOptions.loadEncoder(fastDecode: fastDecode)
            let library = try store.openLibrary(modelName: encoder.name, dimension: encoder.dimension)
            if let sqlite = library as? SQLiteLibrary {
                switch sqlite.vectorSource {
                case .file(let caughtUp): openLog.info("vectors read from \(sqlite.vectorFileURL.lastPathComponent), then \(caughtUp) changes from the log")
                case .rows: openLog.info("vectors read from the database rows (no vector file yet)")
                case .rowsIgnoringFile(let reason): openLog.warning("vectors read from the database rows: the vector file was not used (\(reason))")
                }
            }
            return (encoder, library)
        }
        let app = ClipApplication.application(
            backend: backend, settings: settings, host: host, port: port, logger: logger, services: [loader],
            onServerRunning: { [host] port in
                try? printJSONLines([Listening(listening: "http://\(host):\(port)")])
            })
        do {
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch {
            // A model or database that cannot be opened ends the server (ModelLoadingService).
            exitWithMessage("serve", "\(error)")
        }
    }

    /// The line printed once the port is bound.
    struct Listening: Encodable {
        let listening: String
    }
}
