import ArgumentParser

/// The `clip-server` command line (contracts in ../shared/DESIGN.md section 3): JSON results on
/// stdout, one object or array per line; progress and logs on stderr.
@main
struct ClipServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip-server",
        abstract: "Self-hosted CLIP text-to-image search.",
        subcommands: [EmbedCommand.self, TokenizeCommand.self, PreprocessCommand.self, IndexCommand.self, SearchCommand.self,
                      ServeCommand.self, SeedRandomCommand.self]
    )
}
