import ArgumentParser

/// `--fast-decode`, shared by the commands that decode images for the model (DESIGN.md 3).
struct DecodeOptions: ParsableArguments {
    @Flag(name: .long, help: "Decode JPEGs scaled down in the DCT domain before the resize (faster on camera photos; no longer pixel-exact to the reference: see README).")
    var fastDecode = false
}
