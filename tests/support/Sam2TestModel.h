#pragma once
// A SAM 2 model file for propagation tests: the module parity case's network (128 px, random weights) with
// its object score forced to `scoreBias` everywhere (negative: "absent" on every slice, positive: "present"),
// optionally with the SLM short-term attention and fuser added (random). No Torch or Qt types here, so Qt
// test files can use it.
#include <string>

namespace engram::test {

std::string writeSam2TestModel(float scoreBias, bool shortTermMemory, const std::string& path);

}  // namespace engram::test
