import Foundation

/// The project's own small CLIP (`Models/demo`, made by `tools/train_demo_model.py`), recognised by
/// a `demo.json` in the model folder: `{"name", "description", "gallery"}`. `make serve` falls back
/// to it when OpenAI's ViT-B/32 cannot be fetched; `serve` then says so in its log and on `/readyz`
/// (the page shows `demo_note`), and indexes the gallery on first start.
public struct DemoModel: Sendable, Equatable {
    public static let manifestName = "demo.json"
    public static let defaultGallery = "gallery"

    /// `demo.json`'s `name` (the folder's name when absent).
    public let name: String
    /// `demo.json`'s `description` (empty when absent).
    public let description: String
    /// The folder of sample images to index on first start (`gallery`, relative to the model folder).
    public let gallery: URL
    /// Why `demo.json` could not be read in full, to be logged; the model is still the demo (the
    /// file's presence is what marks it) and the defaults stand in for what is missing.
    public let problem: String?

    /// The demo model in `modelDirectory`, or nil when there is no `demo.json` (a real model).
    public static func detect(modelDirectory: URL) -> DemoModel? {
        let manifest = modelDirectory.appendingPathComponent(manifestName)
        guard FileManager.default.fileExists(atPath: manifest.path) else { return nil }
        var object: [String: Any] = [:]
        var problem: String?
        do {
            let data = try Data(contentsOf: manifest)
            if let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] {
                object = parsed
            } else {
                problem = "\(manifest.path) is not a JSON object"
            }
        } catch {
            problem = "cannot read \(manifest.path): \(error.localizedDescription)"
        }
        let galleryPath = (object["gallery"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? defaultGallery
        let gallery = galleryPath.hasPrefix("/")
            ? URL(fileURLWithPath: galleryPath)
            : modelDirectory.appendingPathComponent(galleryPath)
        return DemoModel(name: (object["name"] as? String) ?? modelDirectory.lastPathComponent,
                         description: (object["description"] as? String) ?? "",
                         gallery: gallery.standardizedFileURL, problem: problem)
    }

    public init(name: String, description: String, gallery: URL, problem: String? = nil) {
        self.name = name
        self.description = description
        self.gallery = gallery
        self.problem = problem
    }

    /// What `/readyz` returns as `demo_note` (the page shows it after "Demo model: "); also in the server's warning.
    public var note: String {
        "\(name), a small CLIP trained by this project on synthetic pictures of coloured shapes: it "
            + "understands queries like \"a red circle\" or \"two blue stars\", not real photos. "
            + "For real search get OpenAI's CLIP ViT-B/32: run `make fetch-model` (or `clip-server fetch-model`), "
            + "or put its files in Models/clip-vit-base-patch32, then restart."
    }
}
