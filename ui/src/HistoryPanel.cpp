#include <engram/ui/HistoryPanel.h>

#include <QHeaderView>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace engram::ui {

HistoryPanel::HistoryPanel(AnnotationController& controller, QWidget* parent)
    : QWidget(parent), controller_(controller), list_(new QTreeWidget(this)) {
    setObjectName("historyPanel");
    list_->setRootIsDecorated(false);
    list_->setHeaderLabels({"#", tr("Interaction"), tr("View"), tr("Segment"), tr("Position (LPS mm)"),
                            tr("Changed"), tr("Size"), tr("Time")});
    list_->header()->setSectionResizeMode(QHeaderView::ResizeToContents);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addWidget(list_);
    connect(&controller_, &AnnotationController::historyChanged, this, &HistoryPanel::rebuild);
    connect(list_, &QTreeWidget::itemClicked, this, [this](QTreeWidgetItem* item) {
        if (rebuilding_) return;
        const int i = list_->indexOfTopLevelItem(item) - controller_.restoredCount();
        if (i >= 0) controller_.undoStack().setIndex(i + 1);
    });
    rebuild();
}

int HistoryPanel::entryCount() const { return list_->topLevelItemCount(); }

void HistoryPanel::rebuild() {
    rebuilding_ = true;
    list_->clear();
    const auto history = controller_.history();
    for (std::size_t n = 0; n < history.size(); ++n) {
        const auto& h = history[n];
        const Segment* s = controller_.segments().find(static_cast<std::uint8_t>(h.segment));
        auto* item = new QTreeWidgetItem({QString::number(n + 1), h.label(), h.view,
                                          s ? QString::fromStdString(s->name) : QString::number(h.segment),
                                          QString("%1, %2, %3")
                                              .arg(h.world[0], 0, 'f', 1)
                                              .arg(h.world[1], 0, 'f', 1)
                                              .arg(h.world[2], 0, 'f', 1),
                                          QString::number(h.changedVoxels), QString::number(h.segmentVoxels),
                                          h.time.toString("HH:mm:ss")});
        if (h.kind == InteractionKind::AiClick)
            item->setToolTip(
                1, tr("confidence %1, %2 ms").arg(h.confidence, 0, 'f', 2).arg(h.milliseconds, 0, 'f', 0));
        else if (h.isClick())
            item->setToolTip(1, tr("grown from seeds in %1 ms").arg(h.milliseconds, 0, 'f', 0));
        if (h.restored) {
            for (int c = 0; c < item->columnCount(); ++c) item->setForeground(c, Qt::gray);
            item->setToolTip(1, tr("From the saved session (cannot be undone)"));
        } else if (h.preview) {
            QFont f = item->font(1);
            f.setItalic(true);
            for (int c = 0; c < item->columnCount(); ++c) item->setFont(c, f);
            item->setToolTip(0, tr("AI preview, not accepted yet (Enter accepts, Esc discards)"));
        } else if (!h.applied) {
            QFont f = item->font(1);
            f.setStrikeOut(true);
            for (int c = 0; c < item->columnCount(); ++c) {
                item->setFont(c, f);
                item->setForeground(c, Qt::darkGray);
            }
        }
        list_->addTopLevelItem(item);
    }
    // Select the entry whose state is shown.
    const int current = controller_.restoredCount() + controller_.undoStack().index() - 1;
    if (current >= 0 && current < list_->topLevelItemCount()) {
        list_->setCurrentItem(list_->topLevelItem(current));
        list_->scrollToItem(list_->topLevelItem(current));
    }
    rebuilding_ = false;
}

}  // namespace engram::ui
