import Testing

@testable import clip_server

/// The re-exec decision: force SkylakeX kernels only on CPUs with the full AVX-512 set, only once,
/// never over the user's own OPENBLAS_CORETYPE or CLIP_NO_REEXEC.
@Suite struct OpenBLASCoreSelectionTests {
    /// Abridged /proc/cpuinfo of a Zen 4 guest that exposes AVX-512, two processors.
    static let avx512CPUInfo = """
        processor\t: 0
        vendor_id\t: AuthenticAMD
        model name\t: AMD EPYC 9R14
        flags\t\t: fpu vme sse sse2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16
        bogomips\t: 5192.27

        processor\t: 1
        flags\t\t: fpu vme sse sse2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16

        """
    /// This machine's (AMD EPYC without AVX-512 exposed): the SkylakeX kernels die with SIGILL here.
    static let avx2CPUInfo = """
        processor\t: 0
        model name\t: AMD EPYC
        flags\t\t: fpu vme de pse tsc msr sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 sha_ni vaes
        power management:

        """

    @Test func readsTheFlagsLine() {
        let flags = OpenBLASCoreSelection.cpuFlags(fromCPUInfo: Self.avx512CPUInfo)
        #expect(flags.contains("avx512f") && flags.contains("avx512vl") && flags.contains("fpu"))
        #expect(!flags.contains("flags") && !flags.contains(":"))
        #expect(OpenBLASCoreSelection.cpuFlags(fromCPUInfo: "processor : 0\n").isEmpty)
    }

    @Test func forcesSkylakeXOnlyWithTheWholeAVX512Set() {
        let avx512 = OpenBLASCoreSelection.cpuFlags(fromCPUInfo: Self.avx512CPUInfo)
        let avx2 = OpenBLASCoreSelection.cpuFlags(fromCPUInfo: Self.avx2CPUInfo)
        #expect(OpenBLASCoreSelection.coreTypeToForce(environment: [:], cpuFlags: avx512) == "SkylakeX")
        #expect(OpenBLASCoreSelection.coreTypeToForce(environment: [:], cpuFlags: avx2) == nil)
        // Xeon Phi style: AVX-512F without BW/VL.
        let phi = avx2.union(["avx512f", "avx512cd", "avx512er", "avx512pf"])
        #expect(OpenBLASCoreSelection.coreTypeToForce(environment: [:], cpuFlags: phi) == nil)
    }

    @Test func respectsTheEnvironment() {
        let avx512 = OpenBLASCoreSelection.cpuFlags(fromCPUInfo: Self.avx512CPUInfo)
        // Set by the user, or by our own first exec: never a second re-exec.
        #expect(OpenBLASCoreSelection.coreTypeToForce(environment: ["OPENBLAS_CORETYPE": "Haswell"], cpuFlags: avx512) == nil)
        #expect(OpenBLASCoreSelection.coreTypeToForce(environment: ["OPENBLAS_CORETYPE": ""], cpuFlags: avx512) == nil)
        #expect(OpenBLASCoreSelection.coreTypeToForce(environment: ["CLIP_NO_REEXEC": "1"], cpuFlags: avx512) == nil)
        #expect(OpenBLASCoreSelection.coreTypeToForce(environment: ["CLIP_NO_REEXEC": "0"], cpuFlags: avx512) == "SkylakeX")
    }
}
