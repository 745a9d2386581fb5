//===- Checkpoint.h - Training state and its checkpoints --------*- C++ -*-===//
//
// A training run owns its parameters and optimizer state (TrainingState);
// checkpoints save them in the layout Hugging Face tools read:
//
//   <dir>/model.safetensors      parameters, under the model's own names
//   <dir>/optimizer.safetensors  optimizer state ("<param>.exp_avg", ...)
//   <dir>/trainer_state.json     step, data position, seed, shapes
//
// A checkpoint directory appears whole or not at all: it is written as a
// temporary sibling and renamed into place.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_CHECKPOINT_H
#define ACCEL_RUNTIME_CHECKPOINT_H

#include "accel/runtime/Executor.h"
#include "accel/runtime/Safetensors.h"

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace accel::rt {

class TrainingState {
public:
  /// Zero-filled storage for every distinct name among `specs` (the specs
  /// of all functions that share it, such as train_step and eval_step).
  /// Throws Error when two specs give one name different types.
  explicit TrainingState(const std::vector<StateSpec> &specs);

  /// Copies every parameter from `file` (initial weights); throws Error
  /// naming the file and tensor when one is missing or has another type.
  void loadParameters(const SafetensorsFile &file);
  /// Copies every parameter (or, with `optimizerState`, every state) from a
  /// checkpoint file, which must hold exactly those names and types.
  void loadExactly(const SafetensorsFile &file, bool optimizerState);

  /// Storage for executors of any function over this state.
  StateBinder binder();
  /// Bytes of all parameters and optimizer state.
  int64_t bytes() const;
  /// Parameters, or optimizer state, as named views (sorted by name).
  std::vector<NamedTensor> tensors(bool optimizerState) const;

private:
  struct Slot {
    StateSpec spec;
    std::unique_ptr<char, void (*)(void *)> data{nullptr, std::free};
  };
  std::map<std::string, Slot> slots;
};

/// Writes a checkpoint of `state` at `dir` atomically; `trainerState` is
/// written as trainer_state.json (values are JSON literals), `extraFiles`
/// (name -> content, e.g. the model's config.json) beside it. On failure
/// (a full disk, say) nothing is left at `dir` or beside it, an existing
/// `dir` is kept, and Error says why.
void saveCheckpoint(const std::string &dir, const TrainingState &state,
                    const std::map<std::string, std::string> &trainerState,
                    const std::map<std::string, std::string> &extraFiles = {});

/// Loads the checkpoint at `dir` into `state` (names and types must match
/// the model exactly) and returns trainer_state.json's fields as JSON
/// literals. Throws Error naming the file on any mismatch.
std::map<std::string, std::string> loadCheckpoint(const std::string &dir,
                                                  TrainingState &state);

/// Removes what saves interrupted by a crash left in `dir` (hidden
/// ".checkpoint-<step>.tmp-<pid>" directories). Only one run may save into
/// a directory at a time.
void removeStaleCheckpointTemporaries(const std::string &dir);

/// The newest "checkpoint-<step>" directory in `dir`, or "" when none.
std::string latestCheckpoint(const std::string &dir);

} // namespace accel::rt

#endif // ACCEL_RUNTIME_CHECKPOINT_H
