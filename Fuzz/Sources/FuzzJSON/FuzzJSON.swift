@_spi(Fuzzing) import App
import FuzzDriver

/// Any bytes as the body of a JSON route: parsed (with the nesting and array-size scan first) and
/// read as `/search`, `/embed` and `/classify` read it. Errors are fine; crashes and hangs are not.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    FuzzEntryPoints.readJSONBodies(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// The entry point SwiftPM links as `main` (`<Module>_main`): libFuzzer's driver with the callback.
@_cdecl("FuzzJSON_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzJSON(data, size) }
}
