#pragma once
// Exceptions the annotation layer throws. Every message is written for the user: plain words, naming the
// file and the problem, ready to show in a dialog or print from the command line.

#include <stdexcept>
#include <string>

namespace engram {

// Input that cannot be used: unreadable, corrupt, inconsistent, or not matching what it is paired with.
class InputError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A file could not be written. The target is left as it was (writes are atomic).
class OutputError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The user cancelled a long operation through its ProgressReporter.
class Cancelled : public std::runtime_error {
  public:
    Cancelled() : std::runtime_error("cancelled") {}
};

}  // namespace engram
