//===- Checkpoint.cpp - Training state and its checkpoints ----------------===//
#include "accel/runtime/Checkpoint.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <system_error>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace accel::rt {

namespace {

std::string describe(const StateSpec &s) {
  return std::string(dtypeName(s.dtype)) + " " + shapeToString(s.shape);
}

/// Reads a JSON object of scalars (trainer_state.json) into key -> the
/// value's JSON text (strings keep their quotes). Errors name the file and,
/// for malformed JSON, the place.
std::map<std::string, std::string> parseFlatJson(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    throw Error(path + ": cannot read: " + std::strerror(errno));
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception &e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
  if (!root.is_object())
    throw Error(path + ": not a JSON object");
  std::map<std::string, std::string> out;
  for (const auto &[key, value] : root.items()) {
    if (value.is_structured())
      throw Error(path + ": \"" + key + "\" is not a number or a string");
    out[key] = value.dump();
  }
  return out;
}

/// Makes the entries of `dir` (a rename into it) survive a crash.
void syncDirectory(const fs::path &dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return;
  ::fsync(fd);
  ::close(fd);
}

} // namespace

void removeStaleCheckpointTemporaries(const std::string &dir) {
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(".checkpoint-", 0) == 0 &&
        name.find(".tmp-") != std::string::npos)
      fs::remove_all(entry.path(), ec);
  }
}

namespace {
/// Every element of a state tensor set to its initial value.
void fillWith(const TensorView &t, double value, const std::string &name) {
  int64_t n = t.numel();
  switch (t.dtype) {
  case DType::F32:
    std::fill_n(t.as<float>(), n, static_cast<float>(value));
    return;
  case DType::F64:
    std::fill_n(t.as<double>(), n, value);
    return;
  case DType::I64:
    std::fill_n(t.as<int64_t>(), n, static_cast<int64_t>(value));
    return;
  default:
    throw Error("'" + name + "' has an initial value, which a " +
                std::string(dtypeName(t.dtype)) + " state cannot take");
  }
}
} // namespace

TrainingState::TrainingState(const std::vector<StateSpec> &specs,
                             const Placement &placement)
    : placement(placement) {
  for (const StateSpec &spec : specs) {
    auto it = slots.find(spec.name);
    if (it != slots.end()) {
      const StateSpec &have = it->second.spec;
      if (have.dtype != spec.dtype || have.shape != spec.shape ||
          have.split != spec.split ||
          have.isOptimizerState != spec.isOptimizerState)
        throw Error("'" + spec.name + "' is " + describe(have) +
                    " in one function and " + describe(spec) + " in another");
      it->second.spec.updated |= spec.updated;
      continue;
    }
    Slot slot;
    slot.spec = spec;
    slot.global = spec.shape;
    slot.offset.assign(spec.shape.size(), 0);
    for (size_t d = 0; d < spec.split.size() && d < spec.shape.size(); ++d) {
      if (spec.split[d].empty())
        continue;
      auto axis = placement.find(spec.split[d]);
      if (axis == placement.end())
        throw Error("'" + spec.name + "' is split along grid axis '" +
                    spec.split[d] + "', which this run does not have");
      slot.global[d] = spec.shape[d] * axis->second.second;
      slot.offset[d] = spec.shape[d] * axis->second.first;
    }
    size_t bytes = static_cast<size_t>(numElements(spec.shape)) *
                   dtypeSize(spec.dtype);
    size_t rounded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
    slot.data = allocateBuffer(hostAllocator(), rounded, "'" + spec.name + "'");
    std::memset(slot.data.get(), 0, rounded);
    if (spec.initial != 0)
      fillWith(TensorView{slot.data.get(), spec.dtype, spec.shape},
               spec.initial, spec.name);
    slots.emplace(spec.name, std::move(slot));
  }
}

namespace {

/// Copies the elements `src` (placed at `srcOffset` in the whole tensor)
/// shares with `dst` (placed at `dstOffset`); returns how many.
int64_t copyOverlap(const TensorView &dst, const std::vector<int64_t> &dstOffset,
                    const TensorView &src, const std::vector<int64_t> &srcOffset) {
  size_t rank = dst.shape.size();
  std::vector<int64_t> lo(rank), hi(rank);
  for (size_t d = 0; d < rank; ++d) {
    lo[d] = std::max(dstOffset[d], srcOffset[d]);
    hi[d] = std::min(dstOffset[d] + dst.shape[d], srcOffset[d] + src.shape[d]);
    if (hi[d] <= lo[d])
      return 0;
  }
  size_t esize = dtypeSize(dst.dtype);
  if (rank == 0) {
    std::memcpy(dst.data, src.data, esize);
    return 1;
  }
  // Row-major strides, then one contiguous run along the last dim per index
  // of the leading ones.
  auto strides = [&](const Shape &shape) {
    std::vector<int64_t> st(rank, 1);
    for (size_t d = rank - 1; d > 0; --d)
      st[d - 1] = st[d] * shape[d];
    return st;
  };
  std::vector<int64_t> ds = strides(dst.shape), ss = strides(src.shape);
  std::vector<int64_t> at(lo);
  int64_t run = hi[rank - 1] - lo[rank - 1], copied = 0;
  while (true) {
    int64_t di = 0, si = 0;
    for (size_t d = 0; d < rank; ++d) {
      di += (at[d] - dstOffset[d]) * ds[d];
      si += (at[d] - srcOffset[d]) * ss[d];
    }
    std::memcpy(static_cast<char *>(dst.data) + di * esize,
                static_cast<const char *>(src.data) + si * esize, run * esize);
    copied += run;
    size_t d = rank - 1;
    while (d > 0) {
      if (++at[d - 1] < hi[d - 1])
        break;
      at[d - 1] = lo[d - 1];
      --d;
    }
    if (d == 0)
      return copied;
  }
}

std::string joinDims(const std::vector<int64_t> &v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

std::vector<int64_t> parseDims(const std::string &text,
                               const std::string &where) {
  std::vector<int64_t> dims;
  size_t i = 0;
  while (i < text.size()) {
    size_t used = 0;
    try {
      dims.push_back(std::stoll(text.substr(i), &used));
    } catch (const std::exception &) {
      throw Error(where + ": malformed dims '" + text + "'");
    }
    i += used;
    if (i < text.size() && text[i++] != ',')
      throw Error(where + ": malformed dims '" + text + "'");
  }
  return dims;
}

} // namespace

void TrainingState::loadParameters(const SafetensorsFile &file) {
  // A tensor the step has no place for means the file is another model's
  // (or another version's): training on would silently drop it.
  for (const std::string &name : file.names()) {
    auto it = slots.find(name);
    if (it == slots.end() || it->second.spec.isOptimizerState)
      throw Error(file.path() + ": has tensor '" + name +
                  "', which is no parameter or buffer of the step (weights "
                  "of another model?)");
  }
  for (auto &[name, slot] : slots) {
    if (slot.spec.isOptimizerState)
      continue;
    if (!file.contains(name))
      throw Error(file.path() + ": has no tensor '" + name +
                  "', a parameter of the model (" +
                  dtypeName(slot.spec.dtype) + " " +
                  shapeToString(slot.global) + ")");
    TensorView w = file.tensor(name);
    if (w.dtype != slot.spec.dtype || w.shape != slot.global)
      throw Error(file.path() + ": tensor '" + name + "' is " +
                  dtypeName(w.dtype) + " " + shapeToString(w.shape) +
                  ", the model expects " + dtypeName(slot.spec.dtype) + " " +
                  shapeToString(slot.global));
    copyOverlap({slot.data.get(), slot.spec.dtype, slot.spec.shape},
                slot.offset, w, std::vector<int64_t>(w.shape.size(), 0));
  }
}

StateBinder TrainingState::binder() {
  return [this](const StateSpec &spec) -> TensorView {
    auto it = slots.find(spec.name);
    if (it == slots.end())
      throw Error("no storage for '" + spec.name + "'");
    return {it->second.data.get(), it->second.spec.dtype,
            it->second.spec.shape};
  };
}

int64_t TrainingState::bytes() const { return bytes(false) + bytes(true); }

int64_t TrainingState::bytes(bool optimizerState) const {
  int64_t total = 0;
  for (const auto &[name, slot] : slots)
    if (slot.spec.isOptimizerState == optimizerState)
      total += numElements(slot.spec.shape) * dtypeSize(slot.spec.dtype);
  return total;
}

bool TrainingState::sharded() const {
  for (const auto &[name, slot] : slots)
    if (slot.global != slot.spec.shape)
      return true;
  return false;
}

std::vector<TrainingState::Part>
TrainingState::parts(bool optimizerState) const {
  std::vector<Part> out;
  for (const auto &[name, slot] : slots) {
    if (slot.spec.isOptimizerState != optimizerState)
      continue;
    bool owner = true;
    for (const auto &[axis, place] : placement) {
      bool gridAxis = axis != "world" && axis.find(',') == std::string::npos;
      bool splitAlong = std::find(slot.spec.split.begin(), slot.spec.split.end(),
                                  axis) != slot.spec.split.end();
      if (gridAxis && !splitAlong && place.first != 0)
        owner = false;
    }
    out.push_back({name,
                   {slot.data.get(), slot.spec.dtype, slot.spec.shape},
                   slot.global,
                   slot.offset,
                   slot.global != slot.spec.shape,
                   owner});
  }
  return out;
}

std::vector<NamedTensor> TrainingState::tensors(bool optimizerState) const {
  std::vector<NamedTensor> out;
  for (const Part &p : parts(optimizerState))
    out.push_back({p.name, p.view});
  return out;
}

namespace {

const char *kIndexFormat = "accel-sharded-1";

std::string rankFile(const char *kind, int64_t rank) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s-rank-%05lld.safetensors", kind,
                static_cast<long long>(rank));
  return buf;
}

/// Writes this rank's parts of parameters or optimizer state; the metadata
/// places each part in its whole tensor.
void writeParts(const fs::path &dir, const char *kind,
                const std::vector<TrainingState::Part> &parts, int64_t rank) {
  std::vector<NamedTensor> tensors;
  std::map<std::string, std::string> metadata = {{"format", "pt"},
                                                 {"accel", kIndexFormat}};
  for (const TrainingState::Part &p : parts) {
    if (!p.owner)
      continue; // another rank holds and saves the same part
    tensors.push_back({p.name, p.view});
    metadata["shape:" + p.name] = joinDims(p.global);
    metadata["offset:" + p.name] = joinDims(p.offset);
  }
  writeSafetensors((dir / rankFile(kind, rank)).string(), tensors, metadata);
}

/// The index of a sharded checkpoint: which of the rank files in `dir`
/// hold a part of each tensor (read back from their headers).
std::string indexJson(const fs::path &dir, const char *kind,
                      const std::vector<TrainingState::Part> &parts,
                      int64_t ranks) {
  std::map<std::string, std::vector<std::string>> files;
  for (int64_t r = 0; r < ranks; ++r) {
    SafetensorsFile file((dir / rankFile(kind, r)).string());
    for (const std::string &name : file.names())
      files[name].push_back(rankFile(kind, r));
  }
  int64_t total = 0;
  nlohmann::ordered_json map = nlohmann::ordered_json::object();
  for (const TrainingState::Part &p : parts) {
    total += numElements(p.global) * dtypeSize(p.view.dtype);
    map[p.name] = files[p.name];
  }
  nlohmann::ordered_json index = {
      {"metadata",
       {{"format", kIndexFormat}, {"ranks", ranks}, {"total_size", total}}},
      {"weight_map", std::move(map)}};
  return index.dump(2) + "\n";
}

void writeText(const fs::path &path, const std::string &text) {
  writeFileAtomically(path.string(), {{text.data(), text.size()}});
}

} // namespace

void saveCheckpoint(const std::string &dir, const TrainingState &state,
                    const std::map<std::string, std::string> &trainerState,
                    const std::map<std::string, std::string> &extraFiles,
                    Communicator *ranks) {
  bool sharded = state.sharded() && ranks && ranks->size() > 1;
  int64_t rank = sharded ? ranks->rank() : 0;
  fs::path target = fs::absolute(dir).lexically_normal();
  if (target.filename().empty())
    target = target.parent_path();
  // Ranks saving together share one temporary directory, which rank 0
  // makes and, once every rank's files are in it, puts in place.
  std::string tag = sharded ? "ranks" : std::to_string(::getpid());
  fs::path tmp = target.parent_path() /
                 ("." + target.filename().string() + ".tmp-" + tag);
  std::error_code ec;
  auto everyRank = [&] {
    if (sharded)
      ranks->barrier();
  };
  try {
    if (rank == 0) {
      fs::create_directories(target.parent_path());
      fs::remove_all(tmp);
      fs::create_directory(tmp);
    }
    everyRank();
    if (sharded) {
      writeParts(tmp, "model", state.parts(false), rank);
      writeParts(tmp, "optimizer", state.parts(true), rank);
    } else {
      writeSafetensors((tmp / "model.safetensors").string(),
                       state.tensors(false), {{"format", "pt"}});
      writeSafetensors((tmp / "optimizer.safetensors").string(),
                       state.tensors(true), {{"format", "pt"}});
    }
    everyRank(); // every rank's files are synced (written atomically)
    if (rank == 0) {
      if (sharded) {
        writeText(tmp / "model.safetensors.index.json",
                  indexJson(tmp, "model", state.parts(false), ranks->size()));
        writeText(tmp / "optimizer.safetensors.index.json",
                  indexJson(tmp, "optimizer", state.parts(true), ranks->size()));
      }
      nlohmann::ordered_json json = nlohmann::ordered_json::object();
      for (const auto &[key, value] : trainerState)
        json[key] = nlohmann::ordered_json::parse(value);
      writeText(tmp / "trainer_state.json", json.dump(2) + "\n");
      for (const auto &[name, content] : extraFiles)
        writeText(tmp / name, content);
      syncDirectory(tmp);
      // Put the finished directory in place in one step: a plain rename
      // when the name is free, an atomic exchange with an older checkpoint
      // of the same name (which is then removed) otherwise.
      if (!fs::exists(target)) {
        fs::rename(tmp, target);
      } else {
        if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(),
                        RENAME_EXCHANGE) != 0)
          throw std::system_error(errno, std::generic_category(),
                                  "cannot exchange with the older checkpoint");
        fs::remove_all(tmp, ec); // now the older one
      }
      syncDirectory(target.parent_path());
    }
    everyRank(); // no rank goes on before the checkpoint is in place
  } catch (const CommError &) {
    if (rank == 0) // a rank died mid-save: nothing of this one is kept
      fs::remove_all(tmp, ec);
    throw;
  } catch (const std::exception &e) {
    if (rank == 0)
      fs::remove_all(tmp, ec);
    throw Error(target.string() + ": cannot save the checkpoint (" +
                e.what() + "); the previous checkpoint is untouched");
  }
}

namespace {

/// Fills this rank's part of every parameter (or optimizer state) from the
/// files of a checkpoint: whole tensors, or parts placed by the metadata.
void loadParts(TrainingState &state, bool optimizerState,
               const std::vector<std::string> &files) {
  const char *what = optimizerState ? "optimizer state" : "parameter";
  std::map<std::string, TrainingState::Part> wanted;
  std::map<std::string, int64_t> filled;
  for (TrainingState::Part &p : state.parts(optimizerState))
    wanted.emplace(p.name, p);
  for (const std::string &path : files) {
    SafetensorsFile file(path);
    const auto &meta = file.metadata();
    for (const std::string &name : file.names()) {
      auto it = wanted.find(name);
      if (it == wanted.end())
        throw Error(path + ": tensor '" + name + "' is no " + what +
                    " of this model (a checkpoint of another model?)");
      const TrainingState::Part &p = it->second;
      TensorView t = file.tensor(name);
      auto shape = meta.find("shape:" + name), offset = meta.find("offset:" + name);
      Shape global = shape == meta.end() ? t.shape : parseDims(shape->second, path);
      std::vector<int64_t> at =
          offset == meta.end() ? std::vector<int64_t>(t.shape.size(), 0)
                               : parseDims(offset->second, path);
      bool placed = at.size() == t.shape.size();
      for (size_t d = 0; placed && d < at.size(); ++d)
        placed = at[d] >= 0 && at[d] + t.shape[d] <= global[d];
      if (t.dtype != p.view.dtype || global != p.global || !placed)
        throw Error(path + ": tensor '" + name + "' is " + dtypeName(t.dtype) +
                    " " + shapeToString(global) + ", the model expects " +
                    dtypeName(p.view.dtype) + " " + shapeToString(p.global) +
                    " (a checkpoint of another model?)");
      filled[name] += copyOverlap(p.view, p.offset, t, at);
    }
  }
  for (const auto &[name, p] : wanted)
    if (filled[name] != numElements(p.view.shape))
      throw Error("the checkpoint " + std::string(filled[name] ? "covers only part of" : "has no") + " " + what + " '" + name +
                  "' (a checkpoint of another model or optimizer, or with "
                  "a rank's files missing?)");
}

} // namespace

std::map<std::string, std::string> loadCheckpoint(const std::string &dir,
                                                  TrainingState &state) {
  fs::path root(dir);
  if (!fs::exists(root / "trainer_state.json"))
    throw Error(dir + ": not a checkpoint (no trainer_state.json)");
  try {
    for (bool optimizer : {false, true}) {
      const char *kind = optimizer ? "optimizer" : "model";
      std::vector<std::string> files;
      if (fs::exists(root / (std::string(kind) + ".safetensors.index.json"))) {
        std::error_code ec;
        for (const auto &entry : fs::directory_iterator(root, ec)) {
          std::string name = entry.path().filename().string();
          if (name.rfind(std::string(kind) + "-rank-", 0) == 0)
            files.push_back(entry.path().string());
        }
        std::sort(files.begin(), files.end());
      } else if (fs::exists(root / (std::string(kind) + ".safetensors"))) {
        files.push_back((root / (std::string(kind) + ".safetensors")).string());
      } else {
        throw Error(dir + ": not a checkpoint (no " + kind + ".safetensors)");
      }
      loadParts(state, optimizer, files);
    }
  } catch (const FormatError &e) {
    throw Error(e.what());
  }
  return parseFlatJson((root / "trainer_state.json").string());
}

void consolidateCheckpoint(const std::string &dir, const std::string &out) {
  fs::path root(dir);
  if (!fs::exists(root / "trainer_state.json"))
    throw Error(dir + ": not a checkpoint (no trainer_state.json)");
  // The specs of the whole tensors, from the parts' metadata.
  std::vector<StateSpec> specs;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto &entry : fs::directory_iterator(root, ec))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  try {
    for (const std::string &name : names) {
      bool model = name.rfind("model", 0) == 0, optimizer = name.rfind("optimizer", 0) == 0;
      if ((!model && !optimizer) || name.size() < 12 ||
          name.compare(name.size() - 12, 12, ".safetensors") != 0)
        continue;
      SafetensorsFile file((root / name).string());
      for (const std::string &tensor : file.names()) {
        TensorView t = file.tensor(tensor);
        auto shape = file.metadata().find("shape:" + tensor);
        Shape global = shape == file.metadata().end()
                           ? t.shape
                           : parseDims(shape->second, file.path());
        specs.push_back({tensor, optimizer, false, t.dtype, global, {}});
      }
    }
  } catch (const FormatError &e) {
    throw Error(e.what());
  }
  TrainingState whole(specs);
  std::map<std::string, std::string> fields = loadCheckpoint(dir, whole);
  std::map<std::string, std::string> extra;
  for (const std::string &name : names) {
    if (name == "trainer_state.json" || name.find(".safetensors") != std::string::npos)
      continue;
    std::ifstream in(root / name, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    extra[name] = content.str();
  }
  saveCheckpoint(out, whole, fields, extra);
}

std::string latestCheckpoint(const std::string &dir) {
  std::string best;
  long long bestStep = -1;
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    const std::string prefix = "checkpoint-";
    if (name.rfind(prefix, 0) != 0 || !entry.is_directory())
      continue;
    char *end = nullptr;
    long long step = std::strtoll(name.c_str() + prefix.size(), &end, 10);
    if (*end == '\0' && step > bestStep) {
      bestStep = step;
      best = entry.path().string();
    }
  }
  return best;
}

} // namespace accel::rt
