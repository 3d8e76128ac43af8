#pragma once
// What all views of one document show: the volume, its label map and segments, the linked cursor (a voxel),
// window/level, overlay opacity and style, and the AI click markers. Views observe it through its signals;
// the document (AnnotationController) stays the owner of labels and segments, this only points at them.
// GUI thread only.

#include <engram/annotation/LabelMap.h>
#include <engram/annotation/Segment.h>
#include <engram/annotation/Volume.h>

#include <QObject>
#include <QString>

#include <memory>
#include <vector>

namespace engram::viewers {

struct WindowLevel {
    double window = 400, level = 40;
};

struct WindowPreset {
    QString name;
    WindowLevel value;
};

// CT presets in Hounsfield units: soft tissue, lung, bone, brain.
const std::vector<WindowPreset>& ctWindowPresets();
// Window covering the 0.5th to 99.5th percentile of the voxel values (what MR and unknown modalities get).
WindowLevel autoWindow(const Volume& volume);
// CT by its modality, or, when the file does not say (NIfTI, NRRD), by values in Hounsfield range (air at
// about -1000 and dense tissue above +300).
bool looksLikeCt(const Volume& volume);
// The window a volume opens with: soft tissue for CT, autoWindow otherwise.
WindowLevel initialWindow(const Volume& volume);

struct ClickMarker {
    Vec3 world{0, 0, 0};
    bool positive = true;
};

class ViewerState : public QObject {
    Q_OBJECT
  public:
    explicit ViewerState(QObject* parent = nullptr) : QObject(parent) {}

    // A new document; `labels` and `segments` must outlive it (or the next setDocument). Resets the cursor to
    // the centre, the window to initialWindow() and clears the markers.
    void setDocument(std::shared_ptr<const Volume> volume, const LabelMap* labels, const SegmentList* segments);
    const Volume* volume() const { return volume_.get(); }
    const LabelMap* labels() const { return labels_; }
    const SegmentList* segments() const { return segments_; }

    const Index3& cursor() const { return cursor_; }
    Vec3 cursorWorld() const;
    // Clamped to the volume.
    void setCursor(const Index3& voxel);

    const WindowLevel& windowLevel() const { return windowLevel_; }
    void setWindowLevel(const WindowLevel& wl);

    double overlayOpacity() const { return opacity_; }
    void setOverlayOpacity(double opacity);
    bool outline() const { return outline_; }
    void setOutline(bool outline);
    // The label drawn as an AI preview (its outline at full opacity, its inside in stripes); 0: none.
    std::uint8_t previewLabel() const { return previewLabel_; }
    void setPreviewLabel(std::uint8_t label);

    const std::vector<ClickMarker>& markers() const { return markers_; }
    void setMarkers(std::vector<ClickMarker> markers);

    // The document tells the views what changed.
    void notifyLabelsChanged(const Index3& begin, const Index3& size) { Q_EMIT labelsChanged(begin, size); }
    void notifySegmentsChanged() { Q_EMIT segmentsChanged(); }

  Q_SIGNALS:
    void documentChanged();
    void cursorChanged();
    void windowLevelChanged();
    void overlayStyleChanged();
    void labelsChanged(const engram::Index3& begin, const engram::Index3& size);
    void segmentsChanged();  // names, colours, visibility
    void markersChanged();

  private:
    std::shared_ptr<const Volume> volume_;
    const LabelMap* labels_ = nullptr;
    const SegmentList* segments_ = nullptr;
    Index3 cursor_{0, 0, 0};
    WindowLevel windowLevel_;
    double opacity_ = 0.5;
    bool outline_ = false;
    std::uint8_t previewLabel_ = 0;
    std::vector<ClickMarker> markers_;
};

}  // namespace engram::viewers
