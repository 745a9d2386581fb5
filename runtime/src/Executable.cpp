//===- Executable.cpp - Loading and checking executables -----------------===//
#include "accel/runtime/Executable.h"
#include "accel/runtime/ExecutableChecksum.h"
#include "accel/runtime/Tensor.h"
#include "accel/runtime/schema/executable_generated.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace accel::rt {

std::unique_ptr<Executable> Executable::loadFile(const std::string &path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(path + ": is a directory, not an executable (.accx) or a "
                       "model (.mlir)");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(path + ": cannot open the executable: " +
                std::strerror(errno));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  return fromBytes(std::move(bytes), path);
}

std::unique_ptr<Executable> Executable::fromBytes(std::vector<uint8_t> bytes,
                                                  const std::string &origin) {
  std::unique_ptr<Executable> exe(new Executable());
  exe->storage = std::move(bytes);
  exe->origin_ = origin;
  exe->verify();
  return exe;
}

uint64_t Executable::fingerprint(const std::string &salt) const {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t byte : storage)
    h = (h ^ byte) * 0x100000001b3ull;
  for (char c : salt)
    h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  return h;
}

void Executable::verify() {
  auto fail = [&](const std::string &what) {
    throw Error(origin_ + ": " + what);
  };
  if (storage.size() < 8 ||
      !flatbuffers::BufferHasIdentifier(storage.data(),
                                        fb::ExecutableIdentifier()))
    fail("not an accel executable (missing the ACCX identifier)");
  flatbuffers::Verifier verifier(storage.data(), storage.size());
  if (!fb::VerifyExecutableBuffer(verifier))
    fail("corrupt executable: the FlatBuffers verifier rejected it");
  root_ = fb::GetExecutable(storage.data());
  if (root_->version() != kFormatVersion)
    fail("executable format version " + std::to_string(root_->version()) +
         ", this runtime reads version " + std::to_string(kFormatVersion) +
         "; recompile it with a matching accel");
  ExecutableChecksum sum = checksumOf(storage.data(), storage.size());
  if (!sum.stored || *sum.stored != sum.computed) {
    char text[96];
    std::snprintf(text, sizeof text, " (stored %08x, the bytes give %08x)",
                  sum.stored.value_or(0), sum.computed);
    fail(std::string("damaged executable: its checksum does not match") +
         (sum.stored ? text : " (it has none)") +
         "; recompile it or copy it again");
  }
  if (!root_->functions() || root_->functions()->size() == 0)
    fail("the executable has no functions");

  // Vectors of 8-byte scalars must be 8-byte aligned to be read; the
  // writer aligns them, a corrupt file may not (the buffer itself is at
  // least 16-byte aligned).
  auto aligned = [](const auto *vector) {
    return vector->size() == 0 ||
           reinterpret_cast<uintptr_t>(vector->data()) % 8 == 0;
  };
  // Every index the executor will follow must be in range.
  int numConstants = root_->constants() ? root_->constants()->size() : 0;
  for (const fb::Function *f : *root_->functions()) {
    std::string fname = f->name() ? f->name()->str() : "?";
    auto ffail = [&](const std::string &what) {
      fail("function '" + fname + "': " + what);
    };
    int numValues = f->values() ? f->values()->size() : 0;
    auto checkIndex = [&](int index, bool optional, const char *what) {
      if ((optional && index == -1) || (index >= 0 && index < numValues))
        return;
      ffail(std::string(what) + " refers to value " + std::to_string(index) +
            " of " + std::to_string(numValues));
    };
    if (f->arena_size() < 0 || f->arena_size() > (int64_t(1) << 48))
      ffail("invalid arena size " + std::to_string(f->arena_size()));
    for (int i = 0; i < numValues; ++i) {
      const fb::Value *v = f->values()->Get(i);
      std::string vname = "value " + std::to_string(i);
      if (v->dtype() > static_cast<uint8_t>(DType::Bool))
        ffail(vname + " has unknown dtype " + std::to_string(v->dtype()));
      // Sizes are computed with overflow checks: a corrupt shape must not
      // wrap around into a small, plausible size.
      if (v->shape() && !aligned(v->shape()))
        ffail(vname + " has a misaligned shape");
      int64_t bytes = static_cast<int64_t>(dtypeSize(DType(v->dtype())));
      if (v->shape())
        for (int64_t d : *v->shape())
          if (d < 0 || __builtin_mul_overflow(bytes, d, &bytes) ||
              bytes > (int64_t(1) << 48)) {
            std::string shape;
            for (int64_t e : *v->shape())
              shape += (shape.empty() ? "" : "x") + std::to_string(e);
            ffail(vname + " has shape " + shape + " of " +
                  dtypeName(DType(v->dtype())) +
                  (d < 0 ? ": a negative dim" : ": more than 2^48 bytes"));
          }
      switch (v->storage()) {
      case fb::Storage::Arena:
        if (v->arena_offset() < 0 || v->arena_offset() % 64 != 0 ||
            v->arena_offset() > f->arena_size() - bytes)
          ffail(vname + " lies outside the arena");
        break;
      case fb::Storage::Constant: {
        if (v->constant() < 0 || v->constant() >= numConstants)
          ffail(vname + " names a missing constant");
        const auto *data = root_->constants()->Get(v->constant())->data();
        if (!data || static_cast<int64_t>(data->size()) != bytes ||
            !aligned(data))
          ffail(vname + " has a constant of the wrong size or alignment");
        break;
      }
      case fb::Storage::Alias:
        // Aliases point backwards, so following them always terminates.
        if (v->alias_of() < 0 || v->alias_of() >= i)
          ffail(vname + " aliases an invalid value");
        break;
      case fb::Storage::Parameter:
      case fb::Storage::State:
      case fb::Storage::Input:
        if (!v->name() || v->name()->size() == 0)
          ffail(vname + " is a parameter, state or input without a name");
        break;
      default:
        ffail(vname + " has an unknown storage kind");
      }
    }
    for (auto *list : {f->parameters(), f->inputs(), f->outputs()})
      if (list)
        for (int index : *list)
          checkIndex(index, false, "a signature entry");
    // Inputs and parameters are bound by name: they must be values of
    // that storage kind (which verification above gave names).
    auto checkKind = [&](const flatbuffers::Vector<int32_t> *list,
                         fb::Storage kind, const char *what) {
      if (list)
        for (int index : *list)
          if (f->values()->Get(index)->storage() != kind)
            ffail(std::string(what) + " entry " + std::to_string(index) +
                  " is not a value of that kind");
    };
    checkKind(f->inputs(), fb::Storage::Input, "input");
    checkKind(f->parameters(), fb::Storage::Parameter, "parameter");
    if (f->outputs() && (!f->output_names() ||
                         f->output_names()->size() != f->outputs()->size()))
      ffail("outputs and output names differ in count");
    // An update names a Parameter or State value of the output's type; only
    // those values may be written, through aliases, by instructions.
    std::vector<bool> updated(numValues, false);
    if (f->output_updates()) {
      if (!f->outputs() || f->output_updates()->size() != f->outputs()->size())
        ffail("outputs and output updates differ in count");
      for (size_t i = 0; i < f->output_updates()->size(); ++i) {
        int target = f->output_updates()->Get(i);
        checkIndex(target, true, "an output update");
        if (target < 0)
          continue;
        const fb::Value *t = f->values()->Get(target);
        const fb::Value *o = f->values()->Get(f->outputs()->Get(i));
        if ((t->storage() != fb::Storage::Parameter &&
             t->storage() != fb::Storage::State) ||
            t->dtype() != o->dtype() || !t->shape() || !o->shape() ||
            !std::equal(t->shape()->begin(), t->shape()->end(),
                        o->shape()->begin(), o->shape()->end()))
          ffail("output " + std::to_string(i) +
                " updates a value that is not a parameter or state of its "
                "type");
        updated[target] = true;
      }
    }
    auto storageRoot = [&](int index) {
      while (f->values()->Get(index)->storage() == fb::Storage::Alias)
        index = f->values()->Get(index)->alias_of();
      return index;
    };
    if (f->instructions())
      for (const fb::Instruction *inst : *f->instructions()) {
        if (!inst->kernel())
          ffail("an instruction has no kernel name");
        if (inst->attrs())
          for (const fb::Attr *a : *inst->attrs())
            if ((a->ints() && !aligned(a->ints())) ||
                (a->floats() && !aligned(a->floats())))
              ffail("an attribute of '" + inst->kernel()->str() +
                    "' is misaligned");
        if (inst->operands())
          for (int index : *inst->operands())
            checkIndex(index, true, inst->kernel()->c_str());
        // Kernels write into the arena or over a parameter or state the
        // function updates; never into constants or the caller's inputs.
        if (inst->results())
          for (int index : *inst->results()) {
            checkIndex(index, false, inst->kernel()->c_str());
            int root = storageRoot(index);
            if (f->values()->Get(root)->storage() != fb::Storage::Arena &&
                !updated[root])
              ffail("'" + inst->kernel()->str() + "' writes value " +
                    std::to_string(index) +
                    ", which is neither in the arena nor an updated state");
          }
      }
  }
}

const fb::Function &Executable::function(const std::string &name) const {
  std::ostringstream names;
  for (const fb::Function *f : *root_->functions()) {
    std::string n = f->name() ? f->name()->str() : "";
    if (n == name)
      return *f;
    names << (names.tellp() ? ", " : "") << n;
  }
  throw Error(origin_ + ": no function '" + name + "' (it has: " +
              names.str() + ")");
}

const fb::Function &Executable::mainFunction() const {
  return *root_->functions()->Get(0);
}

static const fb::Attr *metadataEntry(const fb::Function &f, const char *key) {
  if (f.metadata())
    for (const fb::Attr *a : *f.metadata())
      if (a->name() && a->name()->str() == key)
        return a;
  return nullptr;
}

std::string metadataString(const fb::Function &f, const char *key) {
  const fb::Attr *a = metadataEntry(f, key);
  return a && a->str() ? a->str()->str() : std::string();
}

int64_t metadataInt(const fb::Function &f, const char *key, int64_t fallback) {
  const fb::Attr *a = metadataEntry(f, key);
  return a && a->ints() && a->ints()->size() == 1 ? a->ints()->Get(0) : fallback;
}

} // namespace accel::rt
