//===- Checkpoint.cpp - Training state and its checkpoints ----------------===//
#include "accel/runtime/Checkpoint.h"

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

/// Reads a flat JSON object of scalars into key -> literal text.
std::map<std::string, std::string> parseFlatJson(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    throw Error(path + ": cannot read");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  size_t i = 0;
  auto bad = [&](const char *what) -> Error {
    return Error(path + ": " + what + " at byte " + std::to_string(i));
  };
  auto skipSpace = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
      ++i;
  };
  auto readString = [&] {
    if (text[i] != '"')
      throw bad("expected a string");
    size_t start = i++;
    while (i < text.size() && text[i] != '"')
      i += text[i] == '\\' ? 2 : 1;
    if (i >= text.size())
      throw bad("unterminated string");
    return text.substr(start, ++i - start);
  };
  std::map<std::string, std::string> out;
  skipSpace();
  if (i >= text.size() || text[i++] != '{')
    throw bad("expected '{'");
  for (skipSpace(); i < text.size() && text[i] != '}';) {
    std::string key = readString();
    key = key.substr(1, key.size() - 2);
    skipSpace();
    if (i >= text.size() || text[i++] != ':')
      throw bad("expected ':'");
    skipSpace();
    if (i >= text.size())
      throw bad("expected a value");
    std::string value;
    if (text[i] == '"') {
      value = readString();
    } else {
      size_t start = i;
      while (i < text.size() && text[i] != ',' && text[i] != '}' &&
             !std::isspace(static_cast<unsigned char>(text[i])))
        ++i;
      value = text.substr(start, i - start);
    }
    out[key] = value;
    skipSpace();
    if (i < text.size() && text[i] == ',') {
      ++i;
      skipSpace();
    }
  }
  if (i >= text.size())
    throw bad("expected '}'");
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

TrainingState::TrainingState(const std::vector<StateSpec> &specs) {
  for (const StateSpec &spec : specs) {
    auto it = slots.find(spec.name);
    if (it != slots.end()) {
      const StateSpec &have = it->second.spec;
      if (have.dtype != spec.dtype || have.shape != spec.shape ||
          have.isOptimizerState != spec.isOptimizerState)
        throw Error("'" + spec.name + "' is " + describe(have) +
                    " in one function and " + describe(spec) + " in another");
      it->second.spec.updated |= spec.updated;
      continue;
    }
    Slot slot;
    slot.spec = spec;
    size_t bytes = static_cast<size_t>(numElements(spec.shape)) *
                   dtypeSize(spec.dtype);
    size_t rounded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
    slot.data.reset(static_cast<char *>(std::aligned_alloc(64, rounded)));
    if (!slot.data)
      throw Error("cannot allocate " + std::to_string(bytes) + " bytes for '" +
                  spec.name + "'");
    std::memset(slot.data.get(), 0, rounded);
    slots.emplace(spec.name, std::move(slot));
  }
}

void TrainingState::loadParameters(const SafetensorsFile &file) {
  for (auto &[name, slot] : slots) {
    if (slot.spec.isOptimizerState)
      continue;
    if (!file.contains(name))
      throw Error(file.path() + ": has no tensor '" + name +
                  "', a parameter of the model (" + describe(slot.spec) + ")");
    TensorView w = file.tensor(name);
    if (w.dtype != slot.spec.dtype || w.shape != slot.spec.shape)
      throw Error(file.path() + ": tensor '" + name + "' is " +
                  dtypeName(w.dtype) + " " + shapeToString(w.shape) +
                  ", the model expects " + describe(slot.spec));
    std::memcpy(slot.data.get(), w.data, w.bytes());
  }
}

void TrainingState::loadExactly(const SafetensorsFile &file,
                                bool optimizerState) {
  const char *what = optimizerState ? "optimizer state" : "parameter";
  for (const std::string &name : file.names()) {
    auto it = slots.find(name);
    if (it == slots.end() || it->second.spec.isOptimizerState != optimizerState)
      throw Error(file.path() + ": tensor '" + name + "' is no " + what +
                  " of this model (a checkpoint of another model?)");
  }
  for (auto &[name, slot] : slots)
    if (slot.spec.isOptimizerState == optimizerState) {
      if (!file.contains(name))
        throw Error(file.path() + ": has no " + what + " '" + name +
                    "' (a checkpoint of another model or optimizer?)");
    }
  for (auto &[name, slot] : slots)
    if (slot.spec.isOptimizerState == optimizerState) {
      TensorView t = file.tensor(name);
      if (t.dtype != slot.spec.dtype || t.shape != slot.spec.shape)
        throw Error(file.path() + ": tensor '" + name + "' is " +
                    dtypeName(t.dtype) + " " + shapeToString(t.shape) +
                    ", the model expects " + describe(slot.spec) +
                    " (a checkpoint of another model?)");
      std::memcpy(slot.data.get(), t.data, t.bytes());
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

int64_t TrainingState::bytes() const {
  int64_t total = 0;
  for (const auto &[name, slot] : slots)
    total += numElements(slot.spec.shape) * dtypeSize(slot.spec.dtype);
  return total;
}

std::vector<NamedTensor> TrainingState::tensors(bool optimizerState) const {
  std::vector<NamedTensor> out;
  for (const auto &[name, slot] : slots)
    if (slot.spec.isOptimizerState == optimizerState)
      out.push_back({name, {slot.data.get(), slot.spec.dtype, slot.spec.shape}});
  return out;
}

void saveCheckpoint(const std::string &dir, const TrainingState &state,
                    const std::map<std::string, std::string> &trainerState,
                    const std::map<std::string, std::string> &extraFiles) {
  fs::path target = fs::absolute(dir).lexically_normal();
  if (target.filename().empty())
    target = target.parent_path();
  std::string pid = std::to_string(::getpid());
  fs::path tmp = target.parent_path() /
                 ("." + target.filename().string() + ".tmp-" + pid);
  std::error_code ec;
  try {
    fs::create_directories(target.parent_path());
    fs::remove_all(tmp);
    fs::create_directory(tmp);
    writeSafetensors((tmp / "model.safetensors").string(), state.tensors(false),
                     {{"format", "pt"}});
    writeSafetensors((tmp / "optimizer.safetensors").string(),
                     state.tensors(true), {{"format", "pt"}});
    std::string json = "{\n";
    size_t i = 0;
    for (const auto &[key, value] : trainerState)
      json += "  \"" + key + "\": " + value +
              (++i < trainerState.size() ? ",\n" : "\n");
    json += "}\n";
    writeFileAtomically((tmp / "trainer_state.json").string(),
                        {{json.data(), json.size()}});
    for (const auto &[name, content] : extraFiles)
      writeFileAtomically((tmp / name).string(),
                          {{content.data(), content.size()}});
    // Put the finished directory in place in one step: a plain rename when
    // the name is free, an atomic exchange with an older checkpoint of the
    // same name (which is then removed) otherwise.
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
  } catch (const std::exception &e) {
    fs::remove_all(tmp, ec);
    throw Error(target.string() + ": cannot save the checkpoint (" +
                e.what() + "); the previous checkpoint is untouched");
  }
}

std::map<std::string, std::string> loadCheckpoint(const std::string &dir,
                                                  TrainingState &state) {
  fs::path root(dir);
  for (const char *file : {"model.safetensors", "optimizer.safetensors",
                           "trainer_state.json"})
    if (!fs::exists(root / file))
      throw Error(dir + ": not a checkpoint (no " + file + ")");
  try {
    state.loadExactly(SafetensorsFile((root / "model.safetensors").string()),
                      false);
    state.loadExactly(
        SafetensorsFile((root / "optimizer.safetensors").string()), true);
  } catch (const FormatError &e) {
    throw Error(e.what());
  }
  return parseFlatJson((root / "trainer_state.json").string());
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
