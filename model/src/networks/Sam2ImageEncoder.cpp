#include <engram/model/networks/Sam2ImageEncoder.h>

#include "Sam2Layers.h"

namespace engram::model {

using namespace sam2_layers;
using torch::indexing::None;
using torch::indexing::Slice;

HieraBlockImpl::HieraBlockImpl(int d, int dOut, int h, bool pool, int window)
    : dim(d), dimOut(dOut), heads(h), windowSize(window), qPool(pool) {
    norm1 = register_module("norm1", layerNorm(dim, 1e-6));
    auto attn = group(*this, "attn");
    qkv = attn->register_module("qkv", torch::nn::Linear(dim, dimOut * 3));
    attnProj = attn->register_module("proj", torch::nn::Linear(dimOut, dimOut));
    norm2 = register_module("norm2", layerNorm(dimOut, 1e-6));
    mlp = register_module("mlp", Mlp(dimOut, dimOut * 4, dimOut, 2, /*gelu=*/true));
    if (dim != dimOut) proj = register_module("proj", torch::nn::Linear(dim, dimOut));
}

torch::Tensor HieraBlockImpl::forward(const torch::Tensor& input) {
    auto shortcut = input;
    auto x = norm1(input);
    if (dim != dimOut) {
        shortcut = proj(x);
        if (qPool) shortcut = maxPool2x2(shortcut);
    }
    int64_t H = x.size(1), W = x.size(2), paddedH = H, paddedW = W;
    int64_t window = windowSize;
    if (window > 0) x = windowPartition(x, window, paddedH, paddedW);

    // Attention within each window, the queries max-pooled at a stage change.
    const auto B = x.size(0), h = x.size(1), w = x.size(2);
    auto parts = qkv(x).reshape({B, h * w, 3, heads, -1}).unbind(2);
    auto q = parts[0];
    int64_t qh = h, qw = w;
    if (qPool) {
        q = maxPool2x2(q.reshape({B, h, w, -1}));
        qh = q.size(1);
        qw = q.size(2);
        q = q.reshape({B, qh * qw, heads, -1});
    }
    x = attention(q.transpose(1, 2), parts[1].transpose(1, 2), parts[2].transpose(1, 2)).transpose(1, 2);
    x = attnProj(x.reshape({B, qh, qw, -1}));

    if (qPool) {
        window = windowSize / 2;
        H = shortcut.size(1);
        W = shortcut.size(2);
        if (window > 0) {
            paddedH = H + (window - H % window) % window;
            paddedW = W + (window - W % window) % window;
        }
    }
    if (windowSize > 0) x = windowUnpartition(x, window, paddedH, paddedW, H, W);
    x = shortcut + x;
    return x + mlp(norm2(x));
}

HieraImpl::HieraImpl(const Sam2Config& c) {
    auto patch = group(*this, "patch_embed");
    patchEmbed = patch->register_module("proj", conv(3, c.hieraEmbedDim, 7, 4, 3));
    pos_embed = register_parameter(
        "pos_embed", torch::zeros({1, c.hieraEmbedDim, c.hieraPosEmbedBkg[0], c.hieraPosEmbedBkg[1]}));
    pos_embed_window = register_parameter(
        "pos_embed_window", torch::zeros({1, c.hieraEmbedDim, c.hieraWindowSpec[0], c.hieraWindowSpec[0]}));

    int end = -1;
    for (int n : c.hieraStages) stageEnds.push_back(end += n);
    std::vector<int> qPoolBlocks;
    for (int s = 0; s < std::min<int>(c.hieraQPool, int(stageEnds.size()) - 1); ++s)
        qPoolBlocks.push_back(stageEnds[std::size_t(s)] + 1);

    int dim = c.hieraEmbedDim, heads = c.hieraHeads, stage = 0;
    for (int i = 0; i <= stageEnds.back(); ++i) {
        int dimOut = dim;
        // The window size lags a block: a stage's first block keeps the previous stage's window.
        int window = contains(c.hieraGlobalAttBlocks, i) ? 0 : c.hieraWindowSpec[std::size_t(stage)];
        if (contains(stageEnds, i - 1)) {
            dimOut = dim * 2;
            heads *= 2;
            ++stage;
        }
        blocks->push_back(HieraBlock(dim, dimOut, heads, contains(qPoolBlocks, i), window));
        dim = dimOut;
    }
    register_module("blocks", blocks);
}

std::vector<torch::Tensor> HieraImpl::forward(const torch::Tensor& image) {
    auto x = patchEmbed(image).permute({0, 2, 3, 1});
    const auto h = x.size(1), w = x.size(2);
    auto pos = F::interpolate(pos_embed, F::InterpolateFuncOptions()
                                             .size(std::vector<int64_t>{h, w})
                                             .mode(torch::kBicubic)
                                             .align_corners(false));
    pos = pos + pos_embed_window.tile({1, 1, h / pos_embed_window.size(2), w / pos_embed_window.size(3)});
    x = x + pos.permute({0, 2, 3, 1});

    std::vector<torch::Tensor> outputs;
    for (std::size_t i = 0; i < blocks->size(); ++i) {
        x = blocks[i]->as<HieraBlock>()->forward(x);
        if (contains(stageEnds, int(i))) outputs.push_back(x.permute({0, 3, 1, 2}));
    }
    return outputs;
}

torch::Tensor sinePositionEncoding(const torch::Tensor& x, int channels) {
    const auto H = x.size(-2), W = x.size(-1);
    const int half = channels / 2;
    const auto opts = x.options().dtype(torch::kFloat32);
    const double eps = 1e-6, scale = 2 * kPi;
    const auto y = torch::arange(1, H + 1, opts) / (double(H) + eps) * scale;   // [H]
    const auto xs = torch::arange(1, W + 1, opts) / (double(W) + eps) * scale;  // [W]
    const auto k = torch::arange(half, opts);
    const auto dimT = torch::pow(10000.0, 2 * torch::floor(k / 2) / half);  // [half]
    // Pairs (sin of the even slot, cos of the odd slot), interleaved.
    auto encode = [&](const torch::Tensor& p) {  // [L] -> [L, half]
        const auto a = p.unsqueeze(1) / dimT;
        return torch::stack(
                   {a.index({Slice(), Slice(0, None, 2)}).sin(), a.index({Slice(), Slice(1, None, 2)}).cos()},
                   2)
            .flatten(1);
    };
    const auto py = encode(y).unsqueeze(1).expand({H, W, half});
    const auto px = encode(xs).unsqueeze(0).expand({H, W, half});
    return torch::cat({py, px}, 2)
        .permute({2, 0, 1})
        .unsqueeze(0)
        .expand({x.size(0), channels, H, W})
        .to(x.dtype());
}

Sam2ImageEncoderImpl::Sam2ImageEncoderImpl(const Sam2Config& c)
    : topDownLevels(c.fpnTopDownLevels), scalp(c.scalp), dModel(c.dModel) {
    trunk = register_module("trunk", Hiera(c));
    auto neck = group(*this, "neck");
    auto channels = c.stageChannels();
    for (auto it = channels.rbegin(); it != channels.rend(); ++it) {
        auto level = std::make_shared<torch::nn::Module>();
        lateral.push_back(level->register_module("conv", conv(*it, c.dModel, 1)));
        neckConvs->push_back(level);
    }
    neck->register_module("convs", neckConvs);
}

BackboneOutput Sam2ImageEncoderImpl::forward(const torch::Tensor& image) {
    const auto xs = trunk(image);
    const int n = static_cast<int>(lateral.size()) - 1;
    std::vector<torch::Tensor> out(xs.size());
    torch::Tensor previous;
    for (int i = n; i >= 0; --i) {
        const auto features = lateral[std::size_t(n - i)](xs[std::size_t(i)]);
        if (contains(topDownLevels, i) && previous.defined())
            previous = features + F::interpolate(previous, F::InterpolateFuncOptions()
                                                               .scale_factor(std::vector<double>{2.0, 2.0})
                                                               .mode(torch::kNearest));
        else
            previous = features;
        out[std::size_t(i)] = previous;
    }
    out.resize(out.size() - std::size_t(scalp));
    BackboneOutput r;
    r.backboneFpn = out;
    for (const auto& f : out) r.visionPosEnc.push_back(sinePositionEncoding(f, dModel));
    return r;
}

}  // namespace engram::model
