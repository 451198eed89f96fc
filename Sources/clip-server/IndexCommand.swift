import ArgumentParser
import CLIP
import Foundation
import Ingest
import LibraryStore

/// `clip-server index --model DIR --db PATH PATH...` (DESIGN.md 3): indexes JPEG/PNG files in place
/// (folders recursively) through Ingest's `FolderIndexer`. Progress on stderr; one JSON summary
/// line on stdout.
struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Index image files and folders (recursively) into the database.",
        discussion: """
            Files are referenced by path, not copied. A file whose path, size and modification time are \
            unchanged is skipped; the same bytes at a new path (the old one gone) are recorded as a move \
            and keep their embedding. Files that are not JPEG or PNG are skipped quietly; unreadable or \
            corrupt ones are reported on stderr and skipped. Prints a JSON summary: \
            {"indexed","skipped","moved","failed","pruned","not_images","reembedded"}.
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var decodeOptions: DecodeOptions

    @Flag(name: .long, help: "Remove entries whose files no longer exist.")
    var prune = false

    @Flag(name: .long, help: "Also embed stored images (uploads included) that lack an embedding for this model.")
    var reembed = false

    @Option(name: .long, help: "Images per encoding batch.")
    var batchSize = 32

    @Argument(help: "Image files or folders.")
    var paths: [String] = []

    func validate() throws {
        if paths.isEmpty && !prune && !reembed { throw ValidationError("give at least one PATH (or --prune / --reembed)") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        let encoder: CLIPEncoder
        let store: any LibraryStore
        do {
            encoder = try modelOptions.loadEncoder(fastDecode: decodeOptions.fastDecode)
            store = try storeOptions.openLibrary(modelName: encoder.name, dimension: encoder.dimension)
        } catch {
            exitWithMessage("index", "\(error)")
        }
        let (files, missing) = FileCollector.collect(paths)
        let progress = ProgressReporter(total: files.count, label: "index")
        let report: @Sendable (String) -> Void = { progress.note("clip-server index: \($0)") }
        for path in missing { report("\(path): no such file or folder") }
        let indexer = FolderIndexer(encoder: encoder, store: store, batchSize: batchSize, report: report)
        var summary = indexer.run(files: files, progress: { progress.update(done: $0) })
        summary.failed += missing.count
        if !files.isEmpty { progress.finish() }
        let maintenance = LibraryMaintenance(store: store, report: report)
        if prune { summary.pruned = maintenance.prune() }
        if reembed {
            let (reembedded, failed) = maintenance.reembed(encoder: encoder, batchSize: batchSize)
            summary.reembedded = reembedded
            summary.failed += failed
        } else if let lacking = try? store.lackingEmbeddingCount(), lacking > 0 {
            report("\(lacking) stored images have no \(encoder.name) embedding (run `index --reembed`)")
        }
        try printJSONLines([summary])
    }
}
