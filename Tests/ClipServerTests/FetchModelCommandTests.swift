import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built `clip-server fetch-model` with no hub to talk to: fails (no retries), with one stderr line
/// that says what to download, where to put it, and what picks it up.
@Suite struct FetchModelCommandTests {
    /// `swift build --build-tests` (and so `swift test`) puts the executable next to the test bundle.
    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("clip-server")

    @Test func offlineItFailsFastWithInstructions() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "no \(Self.binary.path)")
        let port = try unusedPort()
        let destination = FileManager.default.temporaryDirectory.appendingPathComponent("fetch-\(UUID().uuidString)")
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["fetch-model", "--endpoint", "http://127.0.0.1:\(port)", "--dest", destination.path]
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let errorText = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let outputText = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        // How fast it fails is measured, not asserted (timed tests flake on shared machines).
        #expect(process.terminationStatus != 0)
        #expect(outputText.isEmpty, "no JSON result on failure")
        let lines = errorText.split(separator: "\n")
        let message = try #require(lines.last.map(String.init))
        #expect(message.hasPrefix("fetch-model: cannot reach the model hub"))
        let repo = "http://127.0.0.1:\(port)/openai/clip-vit-base-patch32"
        for name in ["config.json", "vocab.json", "merges.txt"] {
            #expect(message.contains("\(repo)/resolve/main/\(name)"))
        }
        // main has no model.safetensors: the hub's conversion pull request #66 does.
        #expect(message.contains("\(repo)/resolve/refs%2Fpr%2F66/model.safetensors"))
        #expect(message.contains(destination.path))
        #expect(message.contains("make serve"))
        #expect(!FileManager.default.fileExists(atPath: destination.path))
    }

    /// A loopback port nothing listens on: bound by the OS, then closed.
    private func unusedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        try #require(ok)
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
