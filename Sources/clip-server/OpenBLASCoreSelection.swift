import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Debian's OpenBLAS 0.3.21 picks its Haswell-class kernels on AVX-512 CPUs it does not know (e.g.
/// AMD Zen 4), about half the sgemm speed of its SkylakeX kernels. It reads `OPENBLAS_CORETYPE` once,
/// when the library loads (before `main`), so the only way to choose for it is to set the variable
/// and re-execute this binary. Opt out with `CLIP_NO_REEXEC=1`; an explicit `OPENBLAS_CORETYPE` is
/// always respected (and, being set after the re-exec, guarantees it happens at most once).
enum OpenBLASCoreSelection {
    /// The SkylakeX kernels use AVX-512 F, DQ, BW and VL; Xeon Phi has F without BW/VL and would fault.
    static let skylakeXFlags: Set<String> = ["avx512f", "avx512dq", "avx512bw", "avx512vl"]

    /// The CPU feature flags of the first processor in /proc/cpuinfo ("flags : fpu vme ... avx512f ...").
    static func cpuFlags(fromCPUInfo text: String) -> Set<String> {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == "flags" else { continue }
            return Set(parts[1].split(separator: " ").map(String.init))
        }
        return []
    }

    /// The core type to force, or nil to leave OpenBLAS alone.
    static func coreTypeToForce(environment: [String: String], cpuFlags: Set<String>) -> String? {
        guard environment["OPENBLAS_CORETYPE"] == nil else { return nil }
        if let optOut = environment["CLIP_NO_REEXEC"], !optOut.isEmpty, optOut != "0" { return nil }
        return skylakeXFlags.isSubset(of: cpuFlags) ? "SkylakeX" : nil
    }

    /// Re-executes the process with `OPENBLAS_CORETYPE` set when that helps; returns when it does not
    /// (or when the exec fails, in which case the process simply goes on with the default kernels).
    static func relaunchIfBeneficial() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil,
            let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let core = coreTypeToForce(environment: environment, cpuFlags: cpuFlags(fromCPUInfo: cpuinfo))
        else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached if exec failed: keep the variable out of children and go on as we are.
        unsetenv("OPENBLAS_CORETYPE")
    }
}
