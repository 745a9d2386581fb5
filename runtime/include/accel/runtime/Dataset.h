//===- Dataset.h - Training examples and their order ------------*- C++ -*-===//
//
// What a training loop feeds a step: a dataset of numbered examples, and a
// sampler that orders them epoch by epoch, shuffled by seed. The sampler's
// position (epoch, cursor) is all a checkpoint needs to resume the data
// exactly.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_DATASET_H
#define ACCEL_RUNTIME_DATASET_H

#include "accel/runtime/Npy.h"
#include "accel/runtime/Tensor.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace accel::rt {

/// Examples addressed by number. fill() writes examples `ids` into `batch`,
/// one row per example, for every input the dataset provides.
class Dataset {
public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  /// The inputs fill() writes, with their per-example shape and dtype.
  virtual std::map<std::string, std::pair<DType, Shape>> provides() const = 0;
  virtual void fill(const std::vector<int64_t> &ids,
                    const std::map<std::string, TensorView> &batch) const = 0;
  /// What an example is, for throughput ("tokens" or "examples") and how
  /// many of them one example holds.
  virtual const char *unit() const = 0;
  virtual int64_t unitsPerExample() const = 0;
};

/// A token file (nanoGPT's .bin of uint16 or uint32, or an integer .npy)
/// cut into consecutive windows of seqLen + 1 tokens: example i gives
/// `inputName` = tokens[i*S, i*S+S) and "labels" = tokens[i*S+1, i*S+S+1).
/// .bin files are memory-mapped.
class TokenDataset : public Dataset {
public:
  /// tokenBits is 16 or 32 for .bin files (ignored for .npy). Throws
  /// FormatError naming the file when it cannot be read, holds a token id
  /// >= vocabSize (naming its position), or has less than one window.
  TokenDataset(const std::string &path, int tokenBits, int64_t seqLen,
               std::string inputName, int64_t vocabSize);
  ~TokenDataset() override;

  int64_t size() const override { return windows; }
  std::map<std::string, std::pair<DType, Shape>> provides() const override;
  void fill(const std::vector<int64_t> &ids,
            const std::map<std::string, TensorView> &batch) const override;
  const char *unit() const override { return "tokens"; }
  int64_t unitsPerExample() const override { return seqLen; }
  int64_t numTokens() const { return count; }

private:
  int64_t token(int64_t i) const;

  std::string path, inputName;
  int64_t seqLen, count = 0, windows = 0;
  int tokenBytes = 2;
  void *mapping = nullptr;
  size_t mappingSize = 0;
  NpyArray npy; // the tokens of a .npy file, converted to int64
};

/// Arrays of examples, one .npy file per input, all with the same leading
/// (example) dim: example i is row i of each.
class ArrayDataset : public Dataset {
public:
  /// `files` maps input names to .npy paths.
  explicit ArrayDataset(const std::map<std::string, std::string> &files);

  int64_t size() const override { return rows; }
  std::map<std::string, std::pair<DType, Shape>> provides() const override;
  void fill(const std::vector<int64_t> &ids,
            const std::map<std::string, TensorView> &batch) const override;
  const char *unit() const override { return "examples"; }
  int64_t unitsPerExample() const override { return 1; }

private:
  std::map<std::string, NpyArray> arrays;
  int64_t rows = 0;
};

/// Visits examples in batches of batchSize, epoch after epoch; each epoch
/// is a permutation of [0, N) (identity when not shuffling) and drops the
/// last incomplete batch. The permutation is Fisher-Yates driven by
/// splitmix64 seeded with seed + epoch * 0x9E3779B97F4A7C15, so any
/// language can reproduce it (test/helpers/accel_testing.py does).
class EpochSampler {
public:
  EpochSampler(int64_t numExamples, int64_t batchSize, uint64_t seed,
               bool shuffle);

  /// The next batch's example ids.
  std::vector<int64_t> next();

  int64_t epoch() const { return epoch_; }
  int64_t cursor() const { return cursor_; }
  uint64_t seed() const { return seed_; }
  bool shuffles() const { return shuffle; }
  /// Resumes at a position next() reached before.
  void seek(int64_t epoch, int64_t cursor);

  /// The order of `epoch`.
  static std::vector<int64_t> permutation(int64_t n, uint64_t seed,
                                          int64_t epoch, bool shuffle);

private:
  int64_t n, batch;
  uint64_t seed_;
  bool shuffle;
  int64_t epoch_ = 0, cursor_ = 0;
  std::vector<int64_t> order;
};

} // namespace accel::rt

#endif // ACCEL_RUNTIME_DATASET_H
