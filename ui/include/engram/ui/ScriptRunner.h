#pragma once
// Scripted runs of the real window, for tests and demos (`engram --script actions.json`). A script is a JSON
// array of actions (or {"actions": [...]}), run in order; each waits until the window is idle (loading, AI
// work and surface updates finished) before the next starts. Clicks, brush strokes and fills are delivered
// as mouse events to the slice view at the world point's position, so they travel the same path as a
// user's. Any action may say "expectError": true, and then must fail. Actions and their fields are listed
// in docs/SCRIPTING.md. finished(0) on success, finished(1) with a message on the first failure.

#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <QTimer>

namespace engram::ui {

class MainWindow;

class ScriptRunner : public QObject {
    Q_OBJECT
  public:
    ScriptRunner(MainWindow& window, QJsonArray actions, QObject* parent = nullptr);
    void start();

  Q_SIGNALS:
    void finished(int status, const QString& message);

  private:
    void next();
    void poll();
    // Runs one action; returns false with `error_` set when the action itself is malformed or fails at once.
    bool run(const QJsonObject& action);
    void fail(const QString& message);

    MainWindow& window_;
    QJsonArray actions_;
    int index_ = -1;
    QJsonObject current_;
    QString error_;  // the app's error during the current action
    qint64 waitUntil_ = 0;
    QTimer poll_;
    qint64 deadline_ = 0;
};

}  // namespace engram::ui
