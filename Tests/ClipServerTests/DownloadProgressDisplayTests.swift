import Testing

@testable import clip_server

@Suite struct DownloadProgressDisplayTests {
    @Test func formatsBytesAndDurations() {
        #expect(DownloadProgressDisplay.bytes(999) == "999 B")
        #expect(DownloadProgressDisplay.bytes(605_143_000) == "605.1 MB")
        #expect(DownloadProgressDisplay.duration(65) == "1:05")
        #expect(DownloadProgressDisplay.duration(3725) == "1:02:05")
        #expect(DownloadProgressDisplay.duration(nil) == "--:--")
        #expect(DownloadProgressDisplay.duration(.infinity) == "--:--")
    }
}
