#include "DiceCurvePlot.h"

#include <engram/annotation/Errors.h>

#include <QGuiApplication>
#include <QImage>
#include <QPainter>
#include <QPainterPath>
#include <QSaveFile>

#include <memory>

namespace engram {

void writeDiceCurvePlot(const std::map<std::string, std::vector<double>>& curves, const std::string& title,
                        const std::string& path) {
    // Text needs a GUI application; the command line has none, so an offscreen one is made for the plot.
    std::unique_ptr<QGuiApplication> app;
    if (!QGuiApplication::instance()) {
        if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
        static int argc = 1;
        static char name[] = "engram-cli";
        static char* argv[] = {name, nullptr};
        app = std::make_unique<QGuiApplication>(argc, argv);
    }
    std::size_t clicks = 1;
    for (const auto& [method, curve] : curves) clicks = std::max(clicks, curve.size());

    const int W = 960, H = 600, left = 70, right = 200, top = 50, bottom = 60;
    QImage image(W, H, QImage::Format_RGB32);
    image.fill(Qt::white);
    QPainter p(&image);
    p.setRenderHint(QPainter::Antialiasing);
    const QRectF plot(left, top, W - left - right, H - top - bottom);
    auto x = [&](double click) {
        return plot.left() + (clicks > 1 ? (click - 1) / double(clicks - 1) : 0.5) * plot.width();
    };
    auto y = [&](double dice) { return plot.bottom() - dice * plot.height(); };

    p.setPen(QPen(QColor(225, 225, 225), 1));
    for (int i = 0; i <= 10; ++i)
        p.drawLine(QPointF(plot.left(), y(i / 10.0)), QPointF(plot.right(), y(i / 10.0)));
    p.setPen(QPen(Qt::black, 1));
    p.drawRect(plot);
    QFont font = p.font();
    font.setPixelSize(13);
    p.setFont(font);
    for (int i = 0; i <= 10; i += 2)
        p.drawText(QRectF(0, y(i / 10.0) - 10, left - 8, 20), Qt::AlignRight | Qt::AlignVCenter,
                   QString::number(i / 10.0, 'f', 1));
    const int step = clicks <= 10 ? 1 : clicks <= 25 ? 5 : 10;
    for (std::size_t c = 1; c <= clicks; ++c)
        if (c == 1 || c % std::size_t(step) == 0)
            p.drawText(QRectF(x(double(c)) - 20, plot.bottom() + 4, 40, 20), Qt::AlignCenter,
                       QString::number(c));
    p.drawText(QRectF(plot.left(), H - 30, plot.width(), 24), Qt::AlignCenter, "clicks");
    p.save();
    p.translate(18, plot.center().y());
    p.rotate(-90);
    p.drawText(QRectF(-100, -12, 200, 24), Qt::AlignCenter, "mean Dice");
    p.restore();
    font.setPixelSize(16);
    p.setFont(font);
    p.drawText(QRectF(0, 10, W, 30), Qt::AlignCenter, QString::fromStdString(title));
    font.setPixelSize(13);
    p.setFont(font);

    const QColor colours[] = {QColor(31, 119, 180),  QColor(214, 39, 40),   QColor(44, 160, 44),
                              QColor(255, 127, 14),  QColor(148, 103, 189), QColor(140, 86, 75),
                              QColor(227, 119, 194), QColor(127, 127, 127)};
    int index = 0;
    for (const auto& [method, curve] : curves) {
        const QColor colour = colours[index % 8];
        QPainterPath line;
        for (std::size_t c = 0; c < curve.size(); ++c) {
            const QPointF pt(x(double(c + 1)), y(std::clamp(curve[c], 0.0, 1.0)));
            c == 0 ? line.moveTo(pt) : line.lineTo(pt);
        }
        p.setPen(QPen(colour, 2.5));
        p.drawPath(line);
        const double ly = top + 20 + index * 24;
        p.drawLine(QPointF(W - right + 15, ly), QPointF(W - right + 45, ly));
        p.setPen(Qt::black);
        p.drawText(QRectF(W - right + 52, ly - 10, right - 55, 20), Qt::AlignLeft | Qt::AlignVCenter,
                   QString::fromStdString(method));
        ++index;
    }
    p.end();

    QSaveFile file(QString::fromStdString(path));
    if (!file.open(QIODevice::WriteOnly) || !image.save(&file, "PNG") || !file.commit())
        throw OutputError("Cannot write the plot " + path + ": " + file.errorString().toStdString());
}

}  // namespace engram
