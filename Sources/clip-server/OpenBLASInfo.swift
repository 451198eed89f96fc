import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the OpenBLAS linked into this process reports about itself, looked up by symbol name at run
/// time: only NeuralOps imports COpenBLAS (DESIGN.md section 1), and this is for reports, not math.
enum OpenBLASInfo {
    /// `openblas_get_corename()`: the kernel family in use ("Haswell", "SkylakeX", "Zen", ...).
    static var coreName: String? {
        typealias Function = @convention(c) () -> UnsafePointer<CChar>?
        // A nil handle is glibc's RTLD_DEFAULT: every library loaded into the process.
        guard let symbol = dlsym(nil, "openblas_get_corename") else { return nil }
        guard let name = unsafeBitCast(symbol, to: Function.self)() else { return nil }
        return String(cString: name)
    }

    /// `openblas_get_num_threads()`: OpenBLAS's own thread count (NeuralOps runs it single-threaded
    /// and splits work over cores itself).
    static var threads: Int? {
        typealias Function = @convention(c) () -> Int32
        guard let symbol = dlsym(nil, "openblas_get_num_threads") else { return nil }
        return Int(unsafeBitCast(symbol, to: Function.self)())
    }
}
