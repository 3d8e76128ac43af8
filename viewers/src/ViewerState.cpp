#include <engram/viewers/ViewerState.h>

#include <algorithm>
#include <cmath>

namespace engram::viewers {

const std::vector<WindowPreset>& ctWindowPresets() {
    static const std::vector<WindowPreset> presets{
        {QObject::tr("Soft tissue"), {400, 40}},
        {QObject::tr("Lung"), {1500, -600}},
        {QObject::tr("Bone"), {1800, 400}},
        {QObject::tr("Brain"), {80, 40}},
    };
    return presets;
}

WindowLevel autoWindow(const Volume& volume) {
    const auto& v = volume.voxels();
    if (v.empty()) return {1, 0};
    // Percentiles of a strided sample (at most ~1M values) keep this cheap for large volumes.
    const std::size_t stride = std::max<std::size_t>(1, v.size() / 1000000);
    std::vector<float> sample;
    sample.reserve(v.size() / stride + 1);
    for (std::size_t i = 0; i < v.size(); i += stride) sample.push_back(v[i]);
    auto at = [&](double q) {
        const auto n = static_cast<std::size_t>(q * double(sample.size() - 1));
        std::nth_element(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(n), sample.end());
        return double(sample[n]);
    };
    const double lo = at(0.005), hi = at(0.995);
    return {std::max(hi - lo, 1e-3), (hi + lo) / 2};
}

bool looksLikeCt(const Volume& volume) {
    const auto& modality = volume.metadata().modality;
    if (!modality.empty()) return modality == "CT";
    const auto [lo, hi] = volume.valueRange();
    return lo >= -3100 && lo <= -900 && hi >= 300;
}

WindowLevel initialWindow(const Volume& volume) {
    if (looksLikeCt(volume)) return ctWindowPresets().front().value;
    return autoWindow(volume);
}

void ViewerState::setDocument(std::shared_ptr<const Volume> volume, const LabelMap* labels,
                              const SegmentList* segments) {
    volume_ = std::move(volume);
    labels_ = labels;
    segments_ = segments;
    markers_.clear();
    if (volume_) {
        const auto& s = volume_->geometry().size;
        cursor_ = {s[0] / 2, s[1] / 2, s[2] / 2};
        windowLevel_ = initialWindow(*volume_);
    }
    Q_EMIT documentChanged();
}

Vec3 ViewerState::cursorWorld() const {
    if (!volume_) return {0, 0, 0};
    return volume_->geometry().indexToWorld({double(cursor_[0]), double(cursor_[1]), double(cursor_[2])});
}

void ViewerState::setCursor(const Index3& voxel) {
    if (!volume_) return;
    Index3 c;
    for (int a = 0; a < 3; ++a) c[a] = std::clamp<std::int64_t>(voxel[a], 0, volume_->geometry().size[a] - 1);
    if (c == cursor_) return;
    cursor_ = c;
    Q_EMIT cursorChanged();
}

void ViewerState::setWindowLevel(const WindowLevel& wl) {
    windowLevel_ = {std::max(wl.window, 1e-3), wl.level};
    Q_EMIT windowLevelChanged();
}

void ViewerState::setOverlayOpacity(double opacity) {
    opacity_ = std::clamp(opacity, 0.0, 1.0);
    Q_EMIT overlayStyleChanged();
}

void ViewerState::setOutline(bool outline) {
    outline_ = outline;
    Q_EMIT overlayStyleChanged();
}

void ViewerState::setPreviewLabel(std::uint8_t label) {
    if (label == previewLabel_) return;
    previewLabel_ = label;
    Q_EMIT overlayStyleChanged();
}

void ViewerState::setMarkers(std::vector<ClickMarker> markers) {
    markers_ = std::move(markers);
    Q_EMIT markersChanged();
}

}  // namespace engram::viewers
