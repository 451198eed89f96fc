@_spi(Fuzzing) import App
import FuzzDriver

/// Any bytes as a multipart/form-data body with boundary "fuzz", and the first bytes (up to a
/// newline) as a Content-Type header to take the boundary from.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzMultipart(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    FuzzEntryPoints.readMultipart(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// The entry point SwiftPM links as `main` (`<Module>_main`): libFuzzer's driver with the callback.
@_cdecl("FuzzMultipart_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzMultipart(data, size) }
}
