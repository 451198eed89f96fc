// Each tower's weight precision, chosen at load (DESIGN.md 3, `--precision`): `auto` keeps a tower's
// linear weights as f16 when every one of them is exactly an f16 value (OpenAI's released weights
// are fp16 values stored as F32), which changes no output bit; otherwise f32. Embeddings, LayerNorm
// weights and biases stay f32 in every precision; under int8 the patch embedding and projections too.
// The token embedding table is kept as f16 whenever that is lossless (except under `f32`).
import NeuralOps

/// What `--precision` asks for.
public enum PrecisionSetting: String, Sendable, CaseIterable {
    /// f16 for a tower whose linear weights are all exact f16 values (lossless), else f32.
    case auto
    /// Every weight as loaded.
    case f32
    /// Linear weights rounded to f16 (lossless only when they are f16 values already).
    case f16
    /// The encoder layers' linear weights in int8 per output channel, their inputs quantized per
    /// token at each call; the patch embedding and the projections stay f32. Lossy: see
    /// `precision-check`.
    case int8
}

extension PrecisionSetting {
    /// The precision for a tower with these (unpacked) linear weights; `.f16` only where the CPU has
    /// the f16 kernel.
    func precision(for weights: [LinearWeight]) -> WeightPrecision {
        switch self {
        case .f32: .f32
        case .f16: halfWeightsAvailable ? .f16 : .f32
        case .auto: halfWeightsAvailable && weights.allSatisfy(\.isExactlyHalf) ? .f16 : .f32
        case .int8: packedLinearAvailable ? .int8 : .f32
        }
    }
}

/// How one tower packs its weights: `layers` for the encoder layers' linear weights, `ends` for the
/// patch embedding and projection (f32 under int8: embeddings and projections keep full precision).
private struct TowerPacking {
    let layers: WeightPrecision
    let ends: WeightPrecision

    init(_ precision: WeightPrecision) {
        layers = precision
        ends = precision == .int8 ? .f32 : precision
    }

    func layer(_ weight: LinearWeight) -> LinearWeight { weight.prepared(layers) }
    func end(_ weight: LinearWeight) -> LinearWeight { weight.prepared(ends) }
}

extension EncoderLayerWeights {
    var linearWeights: [LinearWeight] { [qkvWeight, outWeight, fc1Weight, fc2Weight] }

    /// The same layer with every linear weight passed through `transform`.
    func mapLinear(_ transform: (LinearWeight) -> LinearWeight) -> EncoderLayerWeights {
        EncoderLayerWeights(
            layerNorm1Weight: layerNorm1Weight, layerNorm1Bias: layerNorm1Bias,
            qkvWeight: transform(qkvWeight), qkvBias: qkvBias,
            outWeight: transform(outWeight), outBias: outBias,
            layerNorm2Weight: layerNorm2Weight, layerNorm2Bias: layerNorm2Bias,
            fc1Weight: transform(fc1Weight), fc1Bias: fc1Bias,
            fc2Weight: transform(fc2Weight), fc2Bias: fc2Bias)
    }
}

extension VisionWeights {
    /// The patch embedding, every layer's and the projection.
    var linearWeights: [LinearWeight] { [patchWeight, projection] + layers.flatMap(\.linearWeights) }

    /// Packed in the precision `setting` gives this tower.
    func prepared(_ setting: PrecisionSetting) -> VisionWeights {
        let packing = TowerPacking(setting.precision(for: linearWeights))
        return VisionWeights(
            patchWeight: packing.end(patchWeight), classEmbedding: classEmbedding, positionEmbedding: positionEmbedding,
            preLayerNormWeight: preLayerNormWeight, preLayerNormBias: preLayerNormBias,
            layers: layers.map { $0.mapLinear(packing.layer) },
            postLayerNormWeight: postLayerNormWeight, postLayerNormBias: postLayerNormBias,
            projection: packing.end(projection))
    }
}

extension TextWeights {
    /// Every layer's and the projection (the token embedding is a lookup table, not a linear weight).
    var linearWeights: [LinearWeight] { [projection] + layers.flatMap(\.linearWeights) }

    /// Packed in the precision `setting` gives this tower.
    func prepared(_ setting: PrecisionSetting) -> TextWeights {
        let packing = TowerPacking(setting.precision(for: linearWeights))
        return TextWeights(
            // f16 where lossless, unless f32 is asked for: a lookup table, exact either way.
            tokenEmbedding: setting == .f32 ? tokenEmbedding : tokenEmbedding.compacted(),
            positionEmbedding: positionEmbedding,
            layers: layers.map { $0.mapLinear(packing.layer) },
            finalLayerNormWeight: finalLayerNormWeight, finalLayerNormBias: finalLayerNormBias,
            projection: packing.end(projection))
    }
}

/// The precision a tower runs in, read off its packed weights (the layers' first: patch embedding
/// and projections may differ under int8), e.g. "f16".
func runningPrecision(_ layers: [EncoderLayerWeights]) -> WeightPrecision {
    layers.first?.qkvWeight.precision ?? .f32
}
