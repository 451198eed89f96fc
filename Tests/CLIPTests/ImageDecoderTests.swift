import Foundation
import Testing
@testable import CLIP

@Suite struct ImageDecoderTests {
    @Test func emptyBytes() {
        #expect(throws: CLIPError.emptyImage) { try ImageDecoder.decode([]) }
    }
}
