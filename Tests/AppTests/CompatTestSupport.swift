import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// What the compatibility routes are compared with: `POST /embed`'s vectors for the same inputs,
/// decoded as Float straight from the JSON (no Double in between), so equality is exact.
struct EmbedVectors: Decodable {
    let textEmbeddings: [[Float]]
    let imageEmbeddings: [[Float]]
    enum CodingKeys: String, CodingKey {
        case textEmbeddings = "text_embeddings"
        case imageEmbeddings = "image_embeddings"
    }
}

extension TestClientProtocol {
    func embedVectors(texts: [String] = [], images: [String] = []) async throws -> EmbedVectors {
        let response = try await json(.post, "/embed", ["texts": texts, "images": images])
        #expect(response.status == .ok)
        return try JSONDecoder().decode(EmbedVectors.self, from: Data(response.body.readableBytesView))
    }

    /// A JSON body sent with no Content-Type at all (as clip-retrieval's ClipClient posts).
    func untypedJSON(_ uri: String, _ object: Any) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object)))
    }
}

extension TestResponse {
    func decoded<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(body.readableBytesView))
    }
}
