#pragma once
// The compact slice propagator, model family "slicenet": the default propagator, sized to be trained on a
// laptop CPU (docs/MODEL_CARD.md). Slices along one axis are frames, as in SAM 2; each slice is segmented on
// a square crop that follows the object (the previous slice's mask box, `context` times its larger extent
// plus margins), by a residual 2D U-Net whose bottleneck reads a memory of earlier slices:
//   input channels  0, 1 the slice in the two image windows of the default MAIS model (IntensityScale,
//                   ClickNet.h: fixed CT windows, robust MR scaling; -1 outside the scan), 2 valid, 3 the
//                   previous slice (window 0) on the same crop, 4 the previous slice's probability on this
//                   crop: the most recent memory, read directly;
//   memory          every segmented slice, and each prompt slice, leaves the bottleneck features of its
//                   crop with its mask pooled to the same cells, as tokens with their positions in the
//                   plane's millimetres. Two memory attentions read them (positions relative to the current
//                   crop, a learned embedding of the slice distance, 0 for prompts as SAM 2 does for its
//                   conditioning frames; output projections start at zero):
//                   the long-term one and the short-term one. Memory modes (PropagationMemory):
//                     Plain      SAM 2: one bank, the prompts and the `recentSlices` latest slices, read by
//                     the
//                                long-term attention;
//                     ShortLong  SLM-SAM 2: the long-term attention reads the prompts only, the short-term
//                                one the `shortTermSlices` latest slices; the two reads are summed.
//                   Training mixes both modes, so one network runs either (the ablation of the model card).
//   outputs         mask logits on the crop; an object score (is the target on this slice?) and a
//                   predicted IoU, from the pooled bottleneck after the memory read.
// A model file is safetensors with metadata "family" = "slicenet" and "slicenet" (the configuration as JSON);
// training checkpoints add "optimizer." tensors and "training" metadata.

#include <engram/model/inference/Propagation.h>
#include <engram/model/networks/ClickNet.h>
#include <engram/model/networks/SliceNetConfig.h>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <array>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace engram::model {

inline constexpr int kSliceNetChannels = 5;

// A square crop of a slice plane (SlicePlane layout): crop pixel (x, y), x fastest, maps to plane
// (row, column). Training crops are rotated and flipped; the propagator's are not.
struct PlaneCrop {
    std::int64_t size = 64;
    double row = 0, column = 0;      // the plane point at the crop's centre
    double pixelMm = 1;              // crop pixel side
    double rowMm = 1, columnMm = 1;  // the plane's pixel spacing
    double angle = 0;                // radians, crop x axis from the plane's column axis
    bool flip = false;               // crop x mirrored

    std::array<double, 2> toPlane(double x, double y) const;        // -> (row, column)
    std::array<double, 2> toCrop(double row, double column) const;  // -> (x, y)
    // Millimetres along the crop's axes, from its centre, of plane points given in plane millimetres
    // [N, 2] = (row * rowMm, column * columnMm): [N, 2] = (x, y).
    torch::Tensor relativeMm(const torch::Tensor& planeMm) const;
};

// A plane box [row0, row1] x [column0, column1] (pixel centres, inclusive).
struct PlaneBox {
    double row0 = 0, row1 = -1, column0 = 0, column1 = -1;
    bool empty() const { return row1 < row0 || column1 < column0; }
};
PlaneBox boxOf(const std::vector<std::uint8_t>& planeMask, std::int64_t columns);
// The box of a crop's pixels above 0.5 whose centres lie on a plane of rows x columns.
PlaneBox boxOf(const PlaneCrop& crop, const float* probability, std::int64_t rows, std::int64_t columns);
// The propagator's crop for a mask box: centred on it, side max(minCropMm, context x larger extent + 2 x
// marginMm); `scale` widens it (training augmentation).
PlaneCrop cropAround(const PlaneBox& box, const SliceNetConfig& config, double rowMm, double columnMm,
                     double scale = 1);

// Bilinear samples at every crop pixel of the plane function value(row, column) (integer pixels); `outside`
// beyond the plane's pixel centres by more than half a pixel; `valid` (optional) receives 1 inside.
template <typename ValueAt>
std::vector<float> samplePlane(const PlaneCrop& crop, std::int64_t rows, std::int64_t columns, ValueAt value,
                               float outside, std::vector<std::uint8_t>* valid = nullptr);
// Crop `from`'s map (size^2, x fastest) resampled onto crop `to` (0 beyond `from`).
std::vector<float> resampleCrop(const PlaneCrop& from, const float* values, const PlaneCrop& to);

// The image channels 0..2 of slice `slice` on `crop`: [3, S, S].
torch::Tensor sliceChannels(const PlaneCrop& crop, const float* voxels,
                            const std::array<std::int64_t, 3>& size, const SlicePlane& plane,
                            std::int64_t slice, const IntensityScale& scale);

// One slice's memory: tokens [T, D] on the network's device, their plane millimetres [T, 2], its slice.
struct SliceNetMemory {
    torch::Tensor tokens, positions;
    torch::Tensor descriptor;  // [D]: the pooled bottleneck before the memory read (self-sorting similarity)
    std::int64_t slice = 0;
    bool prompt = false;  // a prompt's memory: read at distance 0 (SliceNet.h)
    bool present = true;
    float iou = 1;
};

// What one sample's bottleneck reads: memories (oldest first) for each attention.
struct SliceNetReads {
    std::vector<const SliceNetMemory*> longTerm, shortTerm;
    PlaneCrop crop;
    std::int64_t slice = 0;
};

class SliceNetImpl : public torch::nn::Module {
  public:
    explicit SliceNetImpl(const SliceNetConfig& config);

    struct Encoded {
        std::vector<torch::Tensor> skips;  // the last one is the bottleneck before the memory read
        torch::Tensor descriptor() const;  // [B, D]
    };
    struct Output {
        torch::Tensor logits;      // [B, 1, S, S]
        torch::Tensor bottleneck;  // [B, D, s, s] after the memory read: what the memory encoder reads
        torch::Tensor object;      // [B] object score logits
        torch::Tensor iou;         // [B] predicted IoU in [0, 1]
    };
    Encoded encode(const torch::Tensor& input);  // input [B, 5, S, S]
    Output decode(const Encoded& encoded, const std::vector<SliceNetReads>& reads);
    Output forward(const torch::Tensor& input, const std::vector<SliceNetReads>& reads) {
        return decode(encode(input), reads);
    }
    // A slice's memory from its bottleneck [D, s, s] and probability [S, S] (one sample).
    SliceNetMemory encodeMemory(const torch::Tensor& bottleneck, const torch::Tensor& probability,
                                const PlaneCrop& crop, std::int64_t slice);

    SliceNetConfig config;

  private:
    // memoryReads: the long-term and the short-term memory attention; mixer: a residual block after them.
    torch::nn::ModuleList down{nullptr}, up{nullptr}, decoders{nullptr}, memoryReads{nullptr}, mixer{nullptr};
    torch::nn::Conv2d head{nullptr};
    torch::nn::Linear memoryIn{nullptr}, objectHidden{nullptr}, objectOut{nullptr};
};
TORCH_MODULE(SliceNet);

// A slicenet model file. Throws WeightsError naming the file and what is wrong.
struct SliceNetModel {
    using Config = SliceNetConfig;
    SliceNetConfig config;
    SliceNet net{nullptr};
    static SliceNetModel load(const std::string& path);
    static SliceNetModel create(const SliceNetConfig& config);
    void save(const std::string& path, const std::map<std::string, torch::Tensor>& extraTensors = {},
              const std::map<std::string, std::string>& extraMetadata = {}, bool half = false) const;
};

// Propagation with a slicenet (SlicePropagator's engine for this family; prompts already validated, keyed
// by slice). Directions, the mean between prompts and the stopping rule as in Propagation.h; a slice whose
// object score is below 0.5 is left empty. The result's extent (first, last) and time are SlicePropagator's.
PropagationResult propagateWithSliceNet(SliceNetImpl& net, const VolumeView& volume,
                                        const std::map<std::int64_t, const SlicePrompt*>& prompts,
                                        const PropagationOptions& options);

// ------------------------------------------------------------------------------------------ template body

template <typename ValueAt>
std::vector<float> samplePlane(const PlaneCrop& crop, std::int64_t rows, std::int64_t columns, ValueAt value,
                               float outside, std::vector<std::uint8_t>* valid) {
    const auto S = crop.size;
    std::vector<float> out(static_cast<std::size_t>(S * S), outside);
    if (valid) valid->assign(out.size(), 0);
    const auto origin = crop.toPlane(0, 0), alongX = crop.toPlane(1, 0), alongY = crop.toPlane(0, 1);
    const double dxr = alongX[0] - origin[0], dxc = alongX[1] - origin[1], dyr = alongY[0] - origin[0],
                 dyc = alongY[1] - origin[1];
    std::size_t o = 0;
    for (std::int64_t y = 0; y < S; ++y)
        for (std::int64_t x = 0; x < S; ++x, ++o) {
            double r = origin[0] + dxr * double(x) + dyr * double(y);
            double c = origin[1] + dxc * double(x) + dyc * double(y);
            if (r < -0.5 || c < -0.5 || r > double(rows) - 0.5 || c > double(columns) - 0.5) continue;
            r = std::clamp(r, 0.0, double(rows - 1));
            c = std::clamp(c, 0.0, double(columns - 1));
            const auto r0 =
                std::min<std::int64_t>(static_cast<std::int64_t>(r), std::max<std::int64_t>(rows - 2, 0));
            const auto c0 =
                std::min<std::int64_t>(static_cast<std::int64_t>(c), std::max<std::int64_t>(columns - 2, 0));
            const double wr = rows > 1 ? r - double(r0) : 0, wc = columns > 1 ? c - double(c0) : 0;
            const auto r1 = rows > 1 ? r0 + 1 : r0, c1 = columns > 1 ? c0 + 1 : c0;
            double acc = 0;
            if ((1 - wr) * (1 - wc) > 0) acc += (1 - wr) * (1 - wc) * double(value(r0, c0));
            if ((1 - wr) * wc > 0) acc += (1 - wr) * wc * double(value(r0, c1));
            if (wr * (1 - wc) > 0) acc += wr * (1 - wc) * double(value(r1, c0));
            if (wr * wc > 0) acc += wr * wc * double(value(r1, c1));
            out[o] = static_cast<float>(acc);
            if (valid) (*valid)[o] = 1;
        }
    return out;
}

}  // namespace engram::model
