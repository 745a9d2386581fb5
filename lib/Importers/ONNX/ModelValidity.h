//===- ModelValidity.h - What onnx.checker requires of a model --*- C++ -*-===//
//
// The structural rules of ONNX that a decoded model can break and the
// converters would otherwise paper over: each value defined once (SSA), by
// a graph input, an initializer or one node output; graph input and
// initializer names unique; every node input and graph output defined before
// use; opsets in the range the importer knows. onnx.checker and onnxruntime
// reject a model breaking any of them, and so does accel, naming the node and
// the value (a "last definition wins" import would run a different model).
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_LIB_IMPORTERS_ONNX_MODELVALIDITY_H
#define ACCEL_LIB_IMPORTERS_ONNX_MODELVALIDITY_H

#include "lib/Importers/ONNX/OnnxModel.h"

#include <string>

namespace accel::onnx {

/// Default-domain opsets the converters implement: Softmax, Split and the
/// Reduce ops took their current form at 13; the newest is the newest of
/// the ONNX release pinned in scripts/constraints.txt (the test of this
/// bound fails when the pin moves, so the converters get reviewed then).
inline constexpr int64_t kOldestOpset = 13;
inline constexpr int64_t kNewestOpset = 28;

/// Checks the rules above; on failure sets `error` to one line naming the
/// node or value (without the file, which the caller adds).
bool checkModelValidity(const Model &model, std::string &error);

} // namespace accel::onnx

#endif // ACCEL_LIB_IMPORTERS_ONNX_MODELVALIDITY_H
