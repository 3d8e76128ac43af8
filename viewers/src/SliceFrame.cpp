#include <engram/viewers/SliceFrame.h>

#include <cmath>

namespace engram::viewers {
namespace {

// The LPS world direction each screen axis stands for, per view: {normal, right, up}.
std::array<Vec3, 3> screenDirections(ViewKind kind) {
    switch (kind) {
        case ViewKind::Axial:
            return {{{0, 0, 1}, {1, 0, 0}, {0, -1, 0}}};
        case ViewKind::Coronal:
            return {{{0, 1, 0}, {1, 0, 0}, {0, 0, 1}}};
        case ViewKind::Sagittal:
            return {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};
    }
    return {};
}

double dotColumn(const ImageGeometry& g, int axis, const Vec3& w) {
    return g.direction[0][axis] * w[0] + g.direction[1][axis] * w[1] + g.direction[2][axis] * w[2];
}

// Letter of the patient direction a world vector points to most (LPS: +X left, +Y posterior, +Z superior).
std::string letterOf(const Vec3& w) {
    int a = 0;
    for (int i = 1; i < 3; ++i)
        if (std::abs(w[i]) > std::abs(w[a])) a = i;
    static const char* positive[] = {"L", "P", "S"};
    static const char* negative[] = {"R", "A", "I"};
    return w[a] >= 0 ? positive[a] : negative[a];
}

}  // namespace

const char* viewName(ViewKind kind) {
    switch (kind) {
        case ViewKind::Axial:
            return "axial";
        case ViewKind::Coronal:
            return "coronal";
        case ViewKind::Sagittal:
            return "sagittal";
    }
    return "";
}

SliceFrame SliceFrame::forView(ViewKind kind, const ImageGeometry& g) {
    const auto target = screenDirections(kind);
    SliceFrame f;
    f.kind = kind;
    // The normal first (the axis closest to the view's normal), then the horizontal among the other two.
    auto closest = [&](const Vec3& w, int skip) {
        int best = -1;
        for (int a = 0; a < 3; ++a)
            if (a != skip && (best < 0 || std::abs(dotColumn(g, a, w)) > std::abs(dotColumn(g, best, w))))
                best = a;
        return best;
    };
    f.normal = closest(target[0], -1);
    f.horizontal = closest(target[1], f.normal);
    f.vertical = 3 - f.normal - f.horizontal;
    f.flipH = dotColumn(g, f.horizontal, target[1]) < 0;
    f.flipV = dotColumn(g, f.vertical, target[2]) < 0;

    auto screenWorld = [&](int axis, bool flip) {
        const double s = flip ? -1.0 : 1.0;
        return Vec3{s * g.direction[0][axis], s * g.direction[1][axis], s * g.direction[2][axis]};
    };
    const Vec3 right = screenWorld(f.horizontal, f.flipH), up = screenWorld(f.vertical, f.flipV);
    f.edges = {letterOf({-right[0], -right[1], -right[2]}), letterOf(right), letterOf({-up[0], -up[1], -up[2]}),
               letterOf(up)};
    return f;
}

Vec3 SliceFrame::indexAt(const ImageGeometry& g, double u, double v, double slice) const {
    Vec3 idx{};
    idx[horizontal] = flipH ? double(g.size[horizontal] - 1) - u : u;
    idx[vertical] = flipV ? double(g.size[vertical] - 1) - v : v;
    idx[normal] = slice;
    return idx;
}

std::array<double, 3> SliceFrame::pixelOf(const ImageGeometry& g, const Vec3& idx) const {
    const double u = flipH ? double(g.size[horizontal] - 1) - idx[horizontal] : idx[horizontal];
    const double v = flipV ? double(g.size[vertical] - 1) - idx[vertical] : idx[vertical];
    return {u, v, idx[normal]};
}

}  // namespace engram::viewers
