import CLIP

/// The names clients use for the loaded model: its own (the folder's) name, and the open_clip
/// family name of its architecture (`ViT-B-32` for OpenAI's ViT-B/32), which Immich sends as
/// `ViT-B-32__openai`. The demo model and other shapes have no family name.
struct ModelNames {
    let name: String
    let family: String?

    init(encoder: CLIPEncoder) {
        self.init(name: encoder.name, family: ModelNames.family(of: encoder.model.config))
    }

    init(name: String, family: String?) {
        self.name = name
        self.family = family
    }

    /// open_clip's name for the ViT shapes OpenAI released (width, depth, patch, input side).
    static func family(of config: CLIPConfig) -> String? {
        let vision = config.vision
        let shape = (vision.tower.hiddenSize, vision.tower.numHiddenLayers, vision.patchSize, vision.imageSize)
        switch shape {
        case (768, 12, 32, 224): return "ViT-B-32"
        case (768, 12, 16, 224): return "ViT-B-16"
        case (1024, 24, 14, 224): return "ViT-L-14"
        case (1024, 24, 14, 336): return "ViT-L-14-336"
        default: return nil
        }
    }

    /// The client model names that mean the loaded model: its own name, its family, and the
    /// family with OpenAI's pretrained tag as Immich and open_clip write it (`ViT-B-32__openai`,
    /// `ViT-B-32::openai`).
    var accepted: [String] {
        guard let family else { return [name] }
        return [name, family, "\(family)__openai", "\(family)::openai"]
    }

    func accepts(_ requested: String) -> Bool { accepted.contains(requested) }

    /// What `GET /v1/models` lists: the name, then the family name when there is one.
    var listed: [String] { [name] + (family.map { [$0] } ?? []) }
}
