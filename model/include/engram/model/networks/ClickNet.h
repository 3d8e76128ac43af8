#pragma once
// The compact interactive network, model family "clicknet": the default MAIS model, sized to be trained on
// a laptop CPU (docs/MODEL_CARD.md). A residual 3D U-Net whose input carries the prompts as channels, as
// DeepGrow, DeepEdit, RITM and nnInteractive do, with MAIS memory attention at its bottleneck:
//   input channels  0 image in a soft-tissue window, 1 image in a wide window (CT: [-200, 300] and
//                   [-1000, 1000] HU; MR: both the volume's robust 0.5..99.5 percentile range), each to
//                   [-1, 1] and -1 outside the scan; 2 valid (1 inside the scan); 3 / 4 positive / negative
//                   click maps (Gaussian, sigma `clickSigma` voxels, max over clicks); 5 the previous mask;
//                   6 the grow-from-seeds answer for the same clicks (GrowFromSeeds.h), zero when off.
//   memory          after every interaction the bank receives that interaction's OUTPUT: the bottleneck
//                   features and the output mask, encoded to `memoryCells`^3 tokens, plus a token for the
//                   interaction's click, each with its position in world millimetres. The bottleneck of the
//                   next interaction attends over all of them (positions taken relative to the current crop,
//                   so memories survive a crop that moves; a learned embedding of each memory's age).
//                   The attention's output projection starts at zero: an untrained memory is the identity.
// Crops are axis-aligned to the patient (RAS), isotropic at `spacing` mm; the network is fully
// convolutional, so a crop may be any multiple of 8 voxels per side (training uses `cropSize`, the engine
// grows the crop to cover the object up to `maxCropSize`).
//
// A model file is safetensors with metadata "family" = "clicknet" and "clicknet" (this configuration as
// JSON); training checkpoints add "optimizer." tensors and "training" metadata.

#include <engram/model/Types.h>
#include <engram/model/networks/ClickNetConfig.h>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace engram::model {

inline constexpr int kClickNetChannels = 7;

// How a volume's intensities become network input. CT is recognised by air: at least 2% of its voxels
// below -500 (HU); anything else is scaled by its robust percentile range.
struct IntensityScale {
    bool ct = true;
    float low = 0, high = 1;  // MR: the 0.5th and 99.5th percentiles
    static IntensityScale of(const float* voxels, std::int64_t count);
    // The two image channels for one intensity.
    std::array<float, 2> channels(float value) const;
};

// A crop's lattice: crop index (i, j, k) -> world = origin + axes * index (axes column-wise, row-major).
// Training frames may be scaled, rotated and flipped; the engine's are RAS-aligned at the model spacing.
struct CropFrame {
    std::array<std::int64_t, 3> size{0, 0, 0};
    Point3 origin{0, 0, 0};
    std::array<double, 9> axes{1, 0, 0, 0, 1, 0, 0, 0, 1};

    // RAS-aligned, isotropic `spacing`, crop voxel size/2 at `centre`.
    static CropFrame aligned(const Point3& centre, const std::array<std::int64_t, 3>& size, double spacing);
    Point3 toWorld(const Point3& index) const;
    Point3 toIndex(const Point3& world) const;
    Point3 centre() const;
    std::int64_t count() const { return size[0] * size[1] * size[2]; }
};

// Trilinear samples of the grid function `value(offset)` at every crop voxel (crop axis 0 fastest);
// `outside` where a sample point is beyond the grid's voxel centres by more than half a voxel. `valid`
// (optional, count() bytes) receives 1 inside.
template <typename ValueAt>
std::vector<float> sampleCrop(const CropFrame& frame, const Grid& grid, ValueAt value, float outside,
                              std::vector<std::uint8_t>* valid = nullptr);

// Image channels 0..2 from sampled intensities and whether each sample lies in the scan: the two windows
// (-1 where not scanned: outside, or CT below -1100 HU, a scanner's padding) and valid. `out`: 3 x n floats.
void fillImageChannels(const std::vector<float>& values, const std::vector<std::uint8_t>& inside,
                       const IntensityScale& scale, float* out);
// The network's image channels 0..2 for a crop: [3, S2, S1, S0] (tensor dims follow crop axes 2, 1, 0).
torch::Tensor imageChannels(const CropFrame& frame, const Grid& grid, const float* voxels,
                            const IntensityScale& scale);
// Click maps [2, S2, S1, S0]: positive, negative. Clicks are world points.
torch::Tensor clickChannels(const CropFrame& frame, const std::vector<std::pair<Point3, bool>>& clicks,
                            double sigmaVoxels);

// One interaction's memory: tokens [T, D] and their world positions [T, 3] (mm), on the network's device.
struct ClickMemory {
    torch::Tensor tokens, positions;
};

class ClickNetImpl : public torch::nn::Module {
  public:
    explicit ClickNetImpl(const ClickNetConfig& config);

    struct Output {
        torch::Tensor logits;      // [B, 1, S2, S1, S0]
        torch::Tensor bottleneck;  // [B, D, s2, s1, s0]: what the memory encoder reads
    };
    // `input` [B, 7, S2, S1, S0]; `memories[b]` the bank of sample b (empty: memory off for it), ordered
    // oldest first; `frames[b]` its crop (for positions). Memories are attended only when given.
    Output forward(const torch::Tensor& input, const std::vector<std::vector<ClickMemory>>& memories,
                   const std::vector<CropFrame>& frames);
    // The memory of an interaction from its output: bottleneck [D, s2, s1, s0], output probability
    // [S2, S1, S0] (both of one sample), and its newest click (world, positive).
    ClickMemory encodeMemory(const torch::Tensor& bottleneck, const torch::Tensor& probability,
                             const CropFrame& frame, const Point3& click, bool positive);

    ClickNetConfig config;

  private:
    torch::Tensor attend(const torch::Tensor& features, const std::vector<ClickMemory>& memories,
                         const CropFrame& frame);
    torch::Tensor positionEncoding(const torch::Tensor& millimetres);  // [N, 3] -> [N, D]

    torch::nn::ModuleList down{nullptr}, up{nullptr}, decode{nullptr};
    torch::nn::Conv3d head{nullptr};
    torch::nn::LayerNorm queryNorm{nullptr}, memoryNorm{nullptr};
    torch::nn::Linear memoryIn{nullptr}, positionProjection{nullptr}, q{nullptr}, k{nullptr}, v{nullptr},
        out{nullptr};
    torch::nn::Embedding ageEmbedding{nullptr}, clickEmbedding{nullptr};
};
TORCH_MODULE(ClickNet);

// One interaction as the engine runs it (and evaluation through it). The crop covers the previous mask's
// box, every positive click and the newest click, plus 8 voxels, at least cropSize and at most
// maxCropSize voxels per side (an axis that would need more is centred on the newest click). Clicks and
// the previous mask are taken from world space, so nothing is lost when the crop moves; `bank` (oldest
// first) is attended unless empty. The returned mask covers the previous mask's box and the crop's
// footprint: the crop's voxels from the network, the rest from the previous mask.
struct ClickNetStep {
    RegionMask mask;
    ClickMemory memory;    // this interaction's memory, for the bank
    CropFrame frame;       // the crop it ran on
    float confidence = 0;  // mean certainty max(p, 1 - p) over the crop's scanned voxels
};
ClickNetStep runClickNetInteraction(ClickNetImpl& net, const Grid& grid, const float* voxels,
                                    const IntensityScale& scale,
                                    const std::vector<std::pair<Point3, bool>>& clicks,
                                    const RegionMask& previous, const std::vector<ClickMemory>& bank,
                                    bool seedChannel);

// A ClickNet model file. Throws WeightsError naming the file and what is wrong.
struct ClickNetModel {
    using Config = ClickNetConfig;
    ClickNetConfig config;
    ClickNet net{nullptr};
    static ClickNetModel load(const std::string& path);
    static ClickNetModel create(const ClickNetConfig& config);
    void save(const std::string& path, const std::map<std::string, torch::Tensor>& extraTensors = {},
              const std::map<std::string, std::string>& extraMetadata = {}, bool half = false) const;
};

// ------------------------------------------------------------------------------------------ template body

template <typename ValueAt>
std::vector<float> sampleCrop(const CropFrame& frame, const Grid& grid, ValueAt value, float outside,
                              std::vector<std::uint8_t>* valid) {
    std::vector<float> out(static_cast<std::size_t>(frame.count()), outside);
    if (valid) valid->assign(out.size(), 0);
    // crop index -> grid index is affine: g = g0 + M * c
    const Point3 g0 = grid.worldToIndex(frame.origin);
    std::array<Point3, 3> step;
    for (int a = 0; a < 3; ++a) {
        Point3 unit{0, 0, 0};
        unit[static_cast<std::size_t>(a)] = 1;
        const Point3 g = grid.worldToIndex(frame.toWorld(unit));
        for (int b = 0; b < 3; ++b)
            step[std::size_t(a)][std::size_t(b)] = g[std::size_t(b)] - g0[std::size_t(b)];
    }
    const auto& n = grid.size;
    std::size_t o = 0;
    for (std::int64_t k = 0; k < frame.size[2]; ++k)
        for (std::int64_t j = 0; j < frame.size[1]; ++j)
            for (std::int64_t i = 0; i < frame.size[0]; ++i, ++o) {
                double p[3];
                bool inside = true;
                for (int b = 0; b < 3; ++b) {
                    p[b] = g0[std::size_t(b)] + step[0][std::size_t(b)] * double(i) +
                           step[1][std::size_t(b)] * double(j) + step[2][std::size_t(b)] * double(k);
                    if (p[b] < -0.5 || p[b] > double(n[std::size_t(b)]) - 0.5) inside = false;
                    p[b] = std::clamp(p[b], 0.0, double(n[std::size_t(b)] - 1));
                }
                if (!inside) continue;
                std::int64_t lo[3];
                double w[3];
                for (int b = 0; b < 3; ++b) {
                    lo[b] = std::min<std::int64_t>(static_cast<std::int64_t>(p[b]),
                                                   std::max<std::int64_t>(n[std::size_t(b)] - 2, 0));
                    w[b] = n[std::size_t(b)] > 1 ? p[b] - double(lo[b]) : 0.0;
                }
                const std::int64_t sx = n[0] > 1 ? 1 : 0, sy = n[1] > 1 ? n[0] : 0,
                                   sz = n[2] > 1 ? n[0] * n[1] : 0;
                const std::int64_t base = lo[0] + lo[1] * n[0] + lo[2] * n[0] * n[1];
                double acc = 0;
                for (int c = 0; c < 8; ++c) {
                    const double wx = (c & 1) ? w[0] : 1 - w[0], wy = (c & 2) ? w[1] : 1 - w[1],
                                 wz = (c & 4) ? w[2] : 1 - w[2];
                    const double weight = wx * wy * wz;
                    if (weight == 0) continue;
                    acc += weight *
                           double(value(base + ((c & 1) ? sx : 0) + ((c & 2) ? sy : 0) + ((c & 4) ? sz : 0)));
                }
                out[o] = static_cast<float>(acc);
                if (valid) (*valid)[o] = 1;
            }
    return out;
}

}  // namespace engram::model
