//===- Checkpoint.h - Training state and its checkpoints --------*- C++ -*-===//
//
// A training run owns its parameters and optimizer state (TrainingState);
// checkpoints save them in the layout Hugging Face tools read:
//
//   <dir>/model.safetensors      parameters, under the model's own names
//   <dir>/optimizer.safetensors  optimizer state ("<param>.exp_avg", ...)
//   <dir>/trainer_state.json     step, data position, seed, shapes
//
// (or, for a state split over ranks, one file of parts per rank and an
// index; see saveCheckpoint).
//
// A checkpoint directory appears whole or not at all: it is written as a
// temporary sibling and renamed into place.
//
//===----------------------------------------------------------------------===//
#ifndef ACCEL_RUNTIME_CHECKPOINT_H
#define ACCEL_RUNTIME_CHECKPOINT_H

#include "accel/runtime/Communicator.h"
#include "accel/runtime/Executor.h"
#include "accel/runtime/Memory.h"
#include "accel/runtime/Safetensors.h"

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace accel::rt {

/// This rank's place on each grid axis: axis -> (rank on it, its size).
using Placement = std::map<std::string, std::pair<int64_t, int64_t>>;

class TrainingState {
public:
  /// Zero-filled storage for every distinct name among `specs` (the specs
  /// of all functions that share it, such as train_step and eval_step): of
  /// a split spec, this rank's block, placed by `placement`. Throws Error
  /// when two specs give one name different types or splits, or a split
  /// names an axis `placement` lacks.
  TrainingState(const std::vector<StateSpec> &specs,
                const Placement &placement = {});

  /// Copies every parameter (this rank's block of it) from `file` (initial
  /// weights, whole tensors); throws Error naming the file and tensor when
  /// one is missing or has another type.
  void loadParameters(const SafetensorsFile &file);

  /// Storage for executors of any function over this state.
  StateBinder binder();
  /// Bytes of all parameters and optimizer state this rank holds.
  int64_t bytes() const;
  /// Bytes of this rank's parameters, or optimizer state.
  int64_t bytes(bool optimizerState) const;
  /// Whether some tensor is split over ranks (its checkpoints are sharded).
  bool sharded() const;

  /// One rank's part of a tensor: where it lies in the whole.
  struct Part {
    std::string name;
    TensorView view;                 // this rank's part
    Shape global;                    // the whole tensor's shape
    std::vector<int64_t> offset;     // of the part in the whole
    bool split;                      // false: every rank holds it whole
    /// Whether this rank saves the part: the first of the ranks holding
    /// the same part (rank 0 on every axis the tensor is not split along).
    bool owner;
  };
  /// Parameters, or optimizer state, as this rank's parts (by name).
  std::vector<Part> parts(bool optimizerState) const;
  /// Parameters, or optimizer state, as named views (sorted by name).
  std::vector<NamedTensor> tensors(bool optimizerState) const;

private:
  struct Slot {
    StateSpec spec;
    Shape global;
    std::vector<int64_t> offset;
    DeviceBuffer data;
  };
  std::map<std::string, Slot> slots;
  Placement placement;
};

/// Writes a checkpoint of `state` at `dir` atomically; `trainerState` is
/// written as trainer_state.json (values are JSON literals), `extraFiles`
/// (name -> content, e.g. the model's config.json) beside it. On failure
/// (a full disk, say) nothing is left at `dir` or beside it, an existing
/// `dir` is kept, and Error says why.
///
/// A state split over ranks is saved by all of them together (`ranks`,
/// every rank of the job, on a file system they share): each writes its
/// parts to model-rank-<r>.safetensors and optimizer-rank-<r>.safetensors
/// (a part several ranks hold, by the first of them), each part recording
/// its place in the whole in the file's metadata; rank 0 adds the indexes
/// (model.safetensors.index.json, optimizer.safetensors.index.json: which
/// files hold each tensor) and the trainer state, and puts the directory in
/// place once every rank's files are synced. A state no rank splits is
/// saved by the caller alone as model.safetensors and
/// optimizer.safetensors, which Hugging Face tools load as they are.
void saveCheckpoint(const std::string &dir, const TrainingState &state,
                    const std::map<std::string, std::string> &trainerState,
                    const std::map<std::string, std::string> &extraFiles = {},
                    Communicator *ranks = nullptr);

/// Loads the checkpoint at `dir` into `state`, whichever layout saved it
/// (one process, or parts split over any number of ranks): each rank reads
/// the part it holds. Names and types must match the model exactly, and
/// the parts must cover every tensor. Returns trainer_state.json's fields
/// as JSON literals. Throws Error naming the file on any mismatch.
std::map<std::string, std::string> loadCheckpoint(const std::string &dir,
                                                  TrainingState &state);

/// Writes the checkpoint at `dir` (of any layout) to `out` with every
/// tensor whole: model.safetensors (which transformers' from_pretrained
/// loads, with the config.json saved beside it), optimizer.safetensors and
/// the other files, as one process saves them. `out` appears whole or not
/// at all. Throws Error naming the file on a missing or inconsistent part.
void consolidateCheckpoint(const std::string &dir, const std::string &out);

/// Removes what saves interrupted by a crash left in `dir` (hidden
/// ".checkpoint-<step>.tmp-<pid>" directories). Only one run may save into
/// a directory at a time.
void removeStaleCheckpointTemporaries(const std::string &dir);

/// The newest "checkpoint-<step>" directory in `dir`, or "" when none.
std::string latestCheckpoint(const std::string &dir);

} // namespace accel::rt

#endif // ACCEL_RUNTIME_CHECKPOINT_H
