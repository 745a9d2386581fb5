//===- Generate.cpp - Greedy decoding with a forward function -------------===//
#include "accel/runtime/Generate.h"

#include <algorithm>

namespace accel::rt {

std::vector<int64_t> generateGreedy(Executor &forward, std::vector<int64_t> tokens,
                                    int64_t count) {
  const auto &inputs = forward.inputs();
  if (inputs.size() != 1 || inputs[0].dtype != DType::I64 ||
      inputs[0].shape.size() != 2 || inputs[0].shape[0] != 1)
    throw Error("generation needs a function with one int64 [1, seq] token "
                "input; export the model with batch 1");
  if (tokens.empty())
    throw Error("generation needs a prompt of at least one token");
  const int64_t seq = inputs[0].shape[1];
  // A prompt token the model has no embedding for is the prompt's fault:
  // said so, rather than as the lookup's index error.
  const Shape &logitsShape = forward.outputShape(0);
  if (logitsShape.size() == 3)
    for (size_t i = 0; i < tokens.size(); ++i)
      if (tokens[i] < 0 || tokens[i] >= logitsShape[2])
        throw Error("the prompt's token " + std::to_string(tokens[i]) +
                    " at position " + std::to_string(i) +
                    " is outside the model's vocabulary of " +
                    std::to_string(logitsShape[2]) +
                    " (the prompt is read as bytes, one token each)");
  std::vector<int64_t> window(seq);
  std::map<std::string, TensorView> feed = {
      {inputs[0].name, {window.data(), DType::I64, {1, seq}}}};
  for (int64_t n = 0; n < count; ++n) {
    int64_t used = std::min<int64_t>(seq, tokens.size());
    std::fill(window.begin(), window.end(), 0);
    std::copy(tokens.end() - used, tokens.end(), window.begin());
    std::vector<TensorView> out = forward.run(feed);
    const TensorView &logits = out.at(0);
    if (logits.dtype != DType::F32 || logits.rank() != 3 ||
        logits.shape[1] != seq)
      throw Error("generation needs f32 logits [1, " + std::to_string(seq) +
                  ", vocab] as the first output, not " +
                  shapeToString(logits.shape));
    int64_t vocab = logits.shape[2];
    const float *row = logits.as<float>() + (used - 1) * vocab;
    tokens.push_back(std::max_element(row, row + vocab) - row);
  }
  return tokens;
}

} // namespace accel::rt
