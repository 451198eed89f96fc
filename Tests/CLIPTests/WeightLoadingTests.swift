import Foundation
import Testing
@testable import CLIP

// Broken model directories, built in a temp dir from the float16 fixture by editing its header or
// bytes; each must fail with the typed error that names the tensor.

/// A safetensors file split into its JSON header and its data section, to edit and write back.
private struct EditableSafetensors {
    var header: [String: Any]
    let data: Data

    init(_ url: URL) throws {
        let bytes = try Data(contentsOf: url)
        let length = Int(bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8 ..< 8 + length)) as! [String: Any]
        data = bytes.subdata(in: 8 + length ..< bytes.count)
    }

    func entry(_ name: String) -> [String: Any] { header[name] as! [String: Any] }

    mutating func set(_ name: String, _ key: String, _ value: Any) {
        var e = entry(name)
        e[key] = value
        header[name] = e
    }

    /// Writes header length, header (space-padded to 8 bytes, as the format allows) and data.
    func bytes() throws -> Data {
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(data)
        return out
    }
}

/// A model directory with the fixture's config.json and the given weights bytes.
private func modelDirectory(weights: Data, config: Bool = true) throws -> URL {
    let directory = try temporaryDirectory()
    if config {
        try FileManager.default.copyItem(at: ModelFixtures.huggingFaceF16.appendingPathComponent("config.json"),
                                         to: directory.appendingPathComponent("config.json"))
    }
    try weights.write(to: directory.appendingPathComponent("model.safetensors"))
    return directory
}

private let fixtureWeights = ModelFixtures.huggingFaceF16.appendingPathComponent("model.safetensors")

/// Loads the model from `weights` and returns the error it throws (nil if it loads).
private func loadError(_ weights: Data, config: Bool = true) throws -> CLIPError? {
    let directory = try modelDirectory(weights: weights, config: config)
    defer { try? FileManager.default.removeItem(at: directory) }
    do {
        _ = try CLIPModel(directory: directory)
        return nil
    } catch {
        return error
    }
}

// MARK: - Round trip

@Test func rewrittenFixtureStillLoads() throws {
    // The editor itself changes nothing: without edits the rewritten file loads.
    #expect(try loadError(try EditableSafetensors(fixtureWeights).bytes()) == nil)
}

// MARK: - Missing, misshapen, mistyped tensors

@Test func missingTensorIsNamed() throws {
    var file = try EditableSafetensors(fixtureWeights)
    let name = "vision_model.encoder.layers.1.mlp.fc2.bias"
    file.header.removeValue(forKey: name)
    let error = try loadError(try file.bytes())
    #expect(error == .missingTensor(name))
    #expect(error?.description.contains(name) == true)
}

@Test func wrongShapeNamesTensorAndBothShapes() throws {
    var file = try EditableSafetensors(fixtureWeights)
    let name = "text_model.encoder.layers.0.mlp.fc1.weight"
    #expect(file.entry(name)["shape"] as? [Int] == [64, 16])
    file.set(name, "shape", [16, 64])    // same byte count, transposed shape
    let error = try loadError(try file.bytes())
    #expect(error == .tensorShapeMismatch(tensor: name, expected: [64, 16], actual: [16, 64]))
    #expect(error?.description.contains("[64, 16]") == true && error?.description.contains("[16, 64]") == true)
}

@Test(arguments: ["I16", "Q4_K"])
func unsupportedDtypeIsNamed(dtype: String) throws {
    var file = try EditableSafetensors(fixtureWeights)
    let name = "text_model.final_layer_norm.weight"
    file.set(name, "dtype", dtype)
    #expect(try loadError(try file.bytes()) == .unsupportedTensorDtype(tensor: name, dtype: dtype))
}

@Test(arguments: [[1.5, 16], [-1, 16]] as [[Double]])
func nonIntegerOrNegativeShapeIsCorrupt(shape: [Double]) throws {
    var file = try EditableSafetensors(fixtureWeights)
    file.set("text_model.final_layer_norm.weight", "shape", shape)
    guard case .corruptWeightsHeader(_, let reason)? = try loadError(try file.bytes()) else {
        Issue.record("expected corruptWeightsHeader")
        return
    }
    #expect(reason.contains("text_model.final_layer_norm.weight"))
}

@Test func sizeThatDisagreesWithShapeIsCorrupt() throws {
    var file = try EditableSafetensors(fixtureWeights)
    file.set("logit_scale", "shape", [2])    // 2 bytes of F16 cannot hold 2 elements
    guard case .corruptWeightsHeader(_, let reason)? = try loadError(try file.bytes()) else {
        Issue.record("expected corruptWeightsHeader")
        return
    }
    #expect(reason.contains("logit_scale"))
}

// MARK: - Truncated file, corrupt header

@Test func truncatedFileNamesTheCutTensor() throws {
    let original = try Data(contentsOf: fixtureWeights)
    let file = try EditableSafetensors(fixtureWeights)
    // The tensor stored last is the one a cut just before the end of the file damages.
    let dataStart = original.count - file.data.count
    let last = file.header.filter { $0.key != "__metadata__" }
        .max { (($0.value as! [String: Any])["data_offsets"] as! [Int])[1] < (($1.value as! [String: Any])["data_offsets"] as! [Int])[1] }!
    let end = dataStart + ((last.value as! [String: Any])["data_offsets"] as! [Int])[1]
    #expect(end == original.count)
    guard case .truncatedWeights(let path, let tensor, let reportedEnd, let fileSize)? =
            try loadError(original.prefix(original.count - 10)) else {
        Issue.record("expected truncatedWeights")
        return
    }
    #expect(path.hasSuffix("model.safetensors"))
    #expect(tensor == last.key && reportedEnd == end && fileSize == original.count - 10)
}

@Test func absurdHeaderLengthIsCorrupt() throws {
    var bytes = try Data(contentsOf: fixtureWeights)
    bytes.replaceSubrange(0..<8, with: [UInt8](repeating: 0xFF, count: 8))
    guard case .corruptWeightsHeader(let path, let reason)? = try loadError(bytes) else {
        Issue.record("expected corruptWeightsHeader")
        return
    }
    #expect(path.hasSuffix("model.safetensors") && reason.contains("header length"))
}

@Test func garbageHeaderJSONIsCorrupt() throws {
    var bytes = try Data(contentsOf: fixtureWeights)
    bytes.replaceSubrange(8..<24, with: Array("#not json at all".utf8))
    guard case .corruptWeightsHeader? = try loadError(bytes) else {
        Issue.record("expected corruptWeightsHeader")
        return
    }
}

@Test func tinyFileIsCorrupt() throws {
    guard case .corruptWeightsHeader? = try loadError(Data([1, 2, 3])) else {
        Issue.record("expected corruptWeightsHeader")
        return
    }
}

// MARK: - Missing files, config

@Test func missingFilesAreNamed() throws {
    let empty = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: empty) }
    #expect(throws: CLIPError.self) { try CLIPModel(directory: empty) }
    do {
        _ = try CLIPModel(directory: empty)
    } catch {
        guard case .modelFileUnreadable(let path, _) = error else { Issue.record("got \(error)"); return }
        #expect(path.hasSuffix("model.safetensors"))
    }
    // Hugging Face names need config.json.
    guard case .modelFileUnreadable(let path, _)? = try loadError(try Data(contentsOf: fixtureWeights), config: false) else {
        Issue.record("expected modelFileUnreadable")
        return
    }
    #expect(path.hasSuffix("config.json"))
}

@Test func configDefaultsAreViTB32() throws {
    #expect(try CLIPConfig(json: Data("{}".utf8)) == CLIPConfig.base)
    let partial = try CLIPConfig(json: Data(#"{"text_config": {"hidden_act": "gelu", "eos_token_id": 2}, "vision_config": {"image_size": [336, 336], "patch_size": 14}}"#.utf8))
    #expect(partial.text.tower.hiddenAct == .gelu && partial.text.eosTokenId == 2)
    #expect(partial.vision.imageSize == 336 && partial.vision.patchSize == 14 && partial.vision.numPositions == 577)
    #expect(partial.vision.tower == CLIPConfig.base.vision.tower)
}

@Test func configDictsWinOverConfigs() throws {
    // transformers' CLIPConfig: `text_config_dict` / `vision_config_dict` replace `text_config` / `vision_config`.
    let config = try CLIPConfig(json: Data(#"{"text_config": {"hidden_size": 64, "num_attention_heads": 1}, "text_config_dict": {"hidden_size": 256, "num_attention_heads": 4}, "vision_config_dict": {"patch_size": 16}}"#.utf8))
    #expect(config.text.tower.hiddenSize == 256 && config.text.tower.numAttentionHeads == 4)
    #expect(config.vision.patchSize == 16 && config.vision.tower.hiddenSize == 768)
}

@Test(arguments: [
    #"[1, 2]"#,
    #"{"text_config": {"hidden_size": "wide"}}"#,
    #"{"text_config": {"hidden_size": true}}"#,
    #"{"vision_config": {"hidden_size": 100, "num_attention_heads": 12}}"#,
    #"{"vision_config": {"hidden_act": "relu"}}"#,
    #"{"vision_config": {"image_size": 225}}"#,
    #"{"projection_dim": -1}"#,
    "not json",
])
func invalidConfigIsRejected(json: String) throws {
    #expect(throws: CLIPError.self) { try CLIPConfig(json: Data(json.utf8)) }
    do {
        _ = try CLIPConfig(json: Data(json.utf8))
    } catch {
        guard case .invalidModelConfig = error else { Issue.record("got \(error)"); return }
    }
}

// MARK: - Dtype conversion (hand-computed bit patterns)

@Test func f16AndBF16AreConvertedExactly() throws {
    // F16: 1.0 = 0x3C00, -2.5 = 0xC100, 0.099975586 = 0x2E66; BF16: 1.0 = 0x3F80, -2.5 = 0xC020, 0.15625 = 0x3E20.
    let header: [String: Any] = [
        "a": ["dtype": "F16", "shape": [3], "data_offsets": [0, 6]],
        "b": ["dtype": "BF16", "shape": [1, 3], "data_offsets": [6, 12]],
        "c": ["dtype": "F32", "shape": [], "data_offsets": [12, 16]],
    ]
    var data = Data()
    for half: UInt16 in [0x3C00, 0xC100, 0x2E66, 0x3F80, 0xC020, 0x3E20] {
        withUnsafeBytes(of: half.littleEndian) { data.append(contentsOf: $0) }
    }
    withUnsafeBytes(of: Float(-7.25).bitPattern.littleEndian) { data.append(contentsOf: $0) }
    let bytes = try EditableSafetensors(header: header, data: data).bytes()
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let url = directory.appendingPathComponent("t.safetensors")
    try bytes.write(to: url)

    let file = try SafeTensorsFile(url: url)
    #expect(try file.load("a", shape: [3]).array == [1, -2.5, 0.099975586])
    #expect(try file.load("b", shape: [1, 3]).array == [1, -2.5, 0.15625])
    #expect(try file.load("c", shape: []).array == [-7.25])
    #expect(throws: CLIPError.tensorShapeMismatch(tensor: "a", expected: [4], actual: [3])) {
        try file.load("a", shape: [4])
    }
}

extension EditableSafetensors {
    init(header: [String: Any], data: Data) {
        self.header = header
        self.data = data
    }
}
