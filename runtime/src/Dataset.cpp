//===- Dataset.cpp - Training examples and their order --------------------===//
#include "accel/runtime/Dataset.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace accel::rt {

namespace {

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// An integer .npy array as int64.
NpyArray readTokensNpy(const std::string &path) {
  NpyArray a = readNpy(path);
  NpyArray out{DType::I64, {numElements(a.shape)}, {}};
  out.data.resize(out.shape[0] * sizeof(int64_t));
  auto *dst = reinterpret_cast<int64_t *>(out.data.data());
  const uint8_t *src = a.data.data();
  for (int64_t i = 0; i < out.shape[0]; ++i) {
    switch (a.dtype) {
    case DType::I64: std::memcpy(&dst[i], src + 8 * i, 8); break;
    case DType::I32: { int32_t v; std::memcpy(&v, src + 4 * i, 4); dst[i] = v; break; }
    case DType::I16: { int16_t v; std::memcpy(&v, src + 2 * i, 2); dst[i] = v; break; }
    case DType::U8: dst[i] = src[i]; break;
    default:
      throw FormatError(path + ": token arrays must hold integers, not " +
                        std::string(dtypeName(a.dtype)));
    }
  }
  return out;
}

} // namespace

//===----------------------------------------------------------------------===//
// TokenDataset
//===----------------------------------------------------------------------===//

TokenDataset::TokenDataset(const std::string &path, int tokenBits,
                           int64_t seqLen, std::string inputName,
                           int64_t vocabSize)
    : path(path), inputName(std::move(inputName)), seqLen(seqLen) {
  if (endsWith(path, ".npy")) {
    npy = readTokensNpy(path);
    count = npy.shape[0];
  } else {
    if (tokenBits != 16 && tokenBits != 32)
      throw FormatError(path + ": tokens must be 16 or 32 bits wide");
    tokenBytes = tokenBits / 8;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      throw FormatError(path + ": cannot open: " + std::strerror(errno));
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      throw FormatError(path + ": cannot stat: " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      throw FormatError(path + ": " +
                        (S_ISDIR(st.st_mode) ? "is a directory"
                                             : "is not a regular file") +
                        ", not a token file");
    }
    mappingSize = static_cast<size_t>(st.st_size);
    if (mappingSize % tokenBytes != 0) {
      ::close(fd);
      throw FormatError(path + ": " + std::to_string(mappingSize) +
                        " bytes is not a whole number of " +
                        std::to_string(tokenBits) + "-bit tokens");
    }
    if (mappingSize > 0) {
      mapping = ::mmap(nullptr, mappingSize, PROT_READ, MAP_PRIVATE, fd, 0);
      if (mapping == MAP_FAILED) {
        mapping = nullptr;
        ::close(fd);
        throw FormatError(path + ": cannot map: " + std::strerror(errno));
      }
    }
    ::close(fd);
    count = static_cast<int64_t>(mappingSize / tokenBytes);
  }
  windows = seqLen > 0 && count > 0 ? (count - 1) / seqLen : 0;
  for (int64_t i = 0; i < count; ++i) {
    int64_t t = token(i);
    if (t >= 0 && t < vocabSize)
      continue;
    if (mapping) // the destructor does not run for a throwing constructor
      ::munmap(mapping, mappingSize);
    mapping = nullptr;
    throw FormatError(path + ": token " + std::to_string(t) + " at position " +
                      std::to_string(i) + " is outside the vocabulary [0, " +
                      std::to_string(vocabSize) + ")");
  }
}

TokenDataset::~TokenDataset() {
  if (mapping)
    ::munmap(mapping, mappingSize);
}

int64_t TokenDataset::token(int64_t i) const {
  if (!mapping)
    return reinterpret_cast<const int64_t *>(npy.data.data())[i];
  if (tokenBytes == 2)
    return static_cast<const uint16_t *>(mapping)[i];
  return static_cast<const uint32_t *>(mapping)[i];
}

std::map<std::string, std::pair<DType, Shape>> TokenDataset::provides() const {
  return {{inputName, {DType::I64, {seqLen}}}, {"labels", {DType::I64, {seqLen}}}};
}

void TokenDataset::fill(const std::vector<int64_t> &ids,
                        const std::map<std::string, TensorView> &batch) const {
  int64_t *in = batch.at(inputName).as<int64_t>();
  int64_t *labels = batch.at("labels").as<int64_t>();
  for (size_t row = 0; row < ids.size(); ++row) {
    int64_t start = ids[row] * seqLen;
    for (int64_t j = 0; j < seqLen; ++j) {
      in[row * seqLen + j] = token(start + j);
      labels[row * seqLen + j] = token(start + j + 1);
    }
  }
}

//===----------------------------------------------------------------------===//
// ArrayDataset
//===----------------------------------------------------------------------===//

ArrayDataset::ArrayDataset(const std::map<std::string, std::string> &files) {
  std::string first;
  for (const auto &[name, file] : files) {
    NpyArray a = readNpy(file);
    if (a.shape.empty())
      throw FormatError(file + ": needs a leading example dim, not a scalar");
    if (first.empty()) {
      first = file;
      rows = a.shape[0];
    } else if (a.shape[0] != rows) {
      throw FormatError(file + " has " + std::to_string(a.shape[0]) +
                        " examples, " + first + " has " +
                        std::to_string(rows));
    }
    arrays.emplace(name, std::move(a));
  }
}

std::map<std::string, std::pair<DType, Shape>> ArrayDataset::provides() const {
  std::map<std::string, std::pair<DType, Shape>> out;
  for (const auto &[name, a] : arrays)
    out[name] = {a.dtype, Shape(a.shape.begin() + 1, a.shape.end())};
  return out;
}

void ArrayDataset::fill(const std::vector<int64_t> &ids,
                        const std::map<std::string, TensorView> &batch) const {
  for (const auto &[name, a] : arrays) {
    size_t rowBytes = a.data.size() / static_cast<size_t>(rows);
    auto *dst = static_cast<uint8_t *>(batch.at(name).data);
    for (size_t row = 0; row < ids.size(); ++row)
      std::memcpy(dst + row * rowBytes, a.data.data() + ids[row] * rowBytes,
                  rowBytes);
  }
}

//===----------------------------------------------------------------------===//
// EpochSampler
//===----------------------------------------------------------------------===//

EpochSampler::EpochSampler(int64_t numExamples, int64_t batchSize,
                           uint64_t seed, bool shuffle)
    : n(numExamples), batch(batchSize), seed_(seed), shuffle(shuffle) {
  order = permutation(n, seed_, 0, shuffle);
}

std::vector<int64_t> EpochSampler::permutation(int64_t n, uint64_t seed,
                                               int64_t epoch, bool shuffle) {
  std::vector<int64_t> perm(n);
  for (int64_t i = 0; i < n; ++i)
    perm[i] = i;
  if (!shuffle)
    return perm;
  constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;
  uint64_t state = seed + static_cast<uint64_t>(epoch) * kGolden;
  auto next = [&state] {
    state += kGolden;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(perm[i], perm[next() % static_cast<uint64_t>(i + 1)]);
  return perm;
}

std::vector<int64_t> EpochSampler::next() {
  if (cursor_ + batch > n) {
    ++epoch_;
    cursor_ = 0;
    order = permutation(n, seed_, epoch_, shuffle);
  }
  std::vector<int64_t> ids(order.begin() + cursor_,
                           order.begin() + cursor_ + batch);
  cursor_ += batch;
  return ids;
}

void EpochSampler::seek(int64_t epoch, int64_t cursor) {
  epoch_ = epoch;
  cursor_ = cursor;
  order = permutation(n, seed_, epoch_, shuffle);
}

} // namespace accel::rt
