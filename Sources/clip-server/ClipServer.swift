import ArgumentParser

/// The `clip-server` command line (contracts in ../shared/DESIGN.md section 3): JSON results on
/// stdout, one object or array per line; progress and logs on stderr.
@main
struct ClipServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip-server",
        abstract: "Self-hosted CLIP text-to-image search.",
        discussion: """
            On CPUs with AVX-512 the process re-executes itself once with OPENBLAS_CORETYPE=SkylakeX \
            (OpenBLAS's fastest kernels there); set OPENBLAS_CORETYPE yourself, or CLIP_NO_REEXEC=1, to prevent it.
            """,
        subcommands: [
            ServeCommand.self, IndexCommand.self, SearchCommand.self, EmbedCommand.self, TokenizeCommand.self,
            PreprocessCommand.self, FetchModelCommand.self, BenchCommand.self, PrecisionCheckCommand.self,
        ]
    )

    /// Chooses the OpenBLAS kernels before anything else runs, then parses the command line.
    static func main() async {
        OpenBLASCoreSelection.relaunchIfBeneficial()
        keepLargeBuffersInTheHeap()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// A decoded 12 MP photo is a 36 MB buffer. glibc serves blocks over 32 MB with a fresh mmap
    /// and unmaps them on free, so every photo paid ~9,000 page faults and zeroed pages: 12% of the
    /// CPU time of indexing camera photos (`perf stat` on `clip-server index`, 48 photos: 8.2 s ->
    /// 7.2 s, page faults 654k -> 223k). Blocks up to 64 MB now come from the heap and are reused;
    /// up to 128 MB of free heap is kept before it is returned to the system.
    private static func keepLargeBuffersInTheHeap() {
        #if os(Linux)
        // <malloc.h>: M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3.
        _ = glibcMallopt(-3, 64 << 20)
        _ = glibcMallopt(-1, 128 << 20)
        #endif
    }
}

#if os(Linux)
/// glibc's `mallopt` (<malloc.h> is not part of Swift's Glibc module).
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
