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
}
