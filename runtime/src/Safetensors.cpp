//===- Safetensors.cpp - Safetensors reader and writer -------------------===//
//
// Maps safetensors files and validates their JSON header (read and written
// with nlohmann-json), and writes them in the Hugging Face library's layout.
// Also implements the atomic file write that the runtime's writers share.
//
//===----------------------------------------------------------------------===//

#include "accel/runtime/Safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <limits>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <optional>
#include <set>
#include <unordered_set>

using namespace accel::rt;

//===----------------------------------------------------------------------===//
// Atomic writes
//===----------------------------------------------------------------------===//

void accel::rt::refuseInputsAsOutputs(
    const std::vector<std::pair<std::string, std::string>> &outputs,
    const std::vector<std::pair<std::string, std::string>> &inputs) {
  namespace fs = std::filesystem;
  auto same = [](const std::string &a, const std::string &b) {
    std::error_code ec;
    if (fs::equivalent(a, b, ec) && !ec)
      return true;
    // Not both existing yet: compare where the paths lead.
    return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec) && !ec;
  };
  for (const auto &[outFlag, out] : outputs)
    for (const auto &[inFlag, in] : inputs)
      if (!out.empty() && !in.empty() && same(out, in))
        throw FormatError(outFlag + " '" + out + "' is the " + inFlag +
                          " file: refusing to overwrite an input");
}

void accel::rt::requireReplaceable(const std::string &path) {
  struct stat existing;
  if (::stat(path.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode))
    throw FormatError(path + ": not a regular file (a device, pipe, socket "
                             "or directory): refusing to replace it");
}

void accel::rt::writeFileAtomically(
    const std::string &path,
    const std::vector<std::pair<const void *, size_t>> &pieces) {
  requireReplaceable(path);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0)
    throw FormatError(path + ": cannot create '" + tmp +
                      "': " + std::strerror(errno));
  auto fail = [&](const char *what, int err) {
    if (fd >= 0)
      ::close(fd);
    ::unlink(tmp.c_str());
    throw FormatError(path + ": " + what + ": " + std::strerror(err));
  };
  for (const auto &[data, size] : pieces) {
    const char *p = static_cast<const char *>(data);
    size_t left = size;
    while (left > 0) {
      ssize_t n = ::write(fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        fail("cannot write", n < 0 ? errno : EIO);
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
  if (::fsync(fd) != 0)
    fail("cannot sync", errno);
  int rc = ::close(fd);
  fd = -1;
  if (rc != 0)
    fail("cannot close", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    fail("cannot rename the temporary file into place", errno);
  // Syncing the directory makes the rename itself survive a crash. The new
  // file is in place whatever happens here, so a failure is not reported.
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "."
                    : slash == 0               ? "/"
                                               : path.substr(0, slash);
  int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd >= 0) {
    ::fsync(dirFd);
    ::close(dirFd);
  }
}

//===----------------------------------------------------------------------===//
// Dtypes
//===----------------------------------------------------------------------===//

namespace {

struct SafetensorsDType {
  DType dtype;
  const char *name;
  /// Position in the Hugging Face library's dtype order, by which its writer
  /// sorts tensors (descending) so that each is aligned to its element size.
  int order;
};

constexpr SafetensorsDType kDTypes[] = {
    {DType::Bool, "BOOL", 0}, {DType::U8, "U8", 1},   {DType::I8, "I8", 2},
    {DType::I16, "I16", 3},   {DType::F16, "F16", 4}, {DType::BF16, "BF16", 5},
    {DType::I32, "I32", 6},   {DType::F32, "F32", 7}, {DType::F64, "F64", 8},
    {DType::I64, "I64", 9},
};

const SafetensorsDType *findDType(DType t) {
  for (const SafetensorsDType &d : kDTypes)
    if (d.dtype == t)
      return &d;
  return nullptr;
}

const SafetensorsDType *findDType(const std::string &name) {
  for (const SafetensorsDType &d : kDTypes)
    if (name == d.name)
      return &d;
  return nullptr;
}

/// The bytes of one tensor in the data section, for the overlap check.
struct Range {
  uint64_t begin;
  uint64_t end;
  const std::string *name;
};

} // namespace

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

/// Larger headers are rejected before parsing, as the Hugging Face reader
/// does; real ones are well under a megabyte.
static constexpr uint64_t kMaxHeaderSize = 100'000'000;

SafetensorsFile::SafetensorsFile(const std::string &path) : filePath(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw FormatError(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw FormatError(path + ": not a readable regular file");
  }
  size_t fileSize = static_cast<size_t>(st.st_size);
  if (fileSize < 8) {
    ::close(fd);
    throw FormatError(path + ": file of " + std::to_string(fileSize) +
                      " bytes is too small for a safetensors header");
  }
  void *p = ::mmap(nullptr, fileSize, PROT_READ, MAP_PRIVATE, fd, 0);
  int mapErr = errno;
  ::close(fd);
  if (p == MAP_FAILED)
    throw FormatError(path + ": cannot map: " + std::strerror(mapErr));
  mapping = p;
  mappingSize = fileSize;
  try {
    parseHeader();
  } catch (...) {
    ::munmap(mapping, mappingSize);
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() { ::munmap(mapping, mappingSize); }

void SafetensorsFile::parseHeader() {
  const uint8_t *bytes = static_cast<const uint8_t *>(mapping);
  uint64_t headerSize = 0;
  for (int i = 0; i < 8; ++i)
    headerSize |= uint64_t(bytes[i]) << (8 * i);
  if (headerSize > kMaxHeaderSize)
    throw FormatError(filePath + ": header length " +
                      std::to_string(headerSize) + " exceeds the limit of " +
                      std::to_string(kMaxHeaderSize) + " bytes");
  if (headerSize > mappingSize - 8)
    throw FormatError(filePath + ": header length " +
                      std::to_string(headerSize) +
                      " runs past the end of the " +
                      std::to_string(mappingSize) + "-byte file");
  size_t dataStart = 8 + static_cast<size_t>(headerSize);
  uint64_t dataSize = mappingSize - dataStart;

  // Parsed by nlohmann-json. Beyond JSON, the format allows three levels
  // (entries, their fields, shape and offsets) and each key once per object
  // (as the Hugging Face reader): deeper nesting and a repeated key are
  // refused while parsing.
  using Json = nlohmann::ordered_json;
  std::vector<std::set<std::string>> keys; // of each open object
  auto check = [&](int depth, Json::parse_event_t event, Json &parsed) {
    if (depth > 3)
      throw FormatError(filePath + ": header nests deeper than a safetensors "
                                   "header does");
    if (event == Json::parse_event_t::object_start)
      keys.emplace_back();
    else if (event == Json::parse_event_t::object_end)
      keys.pop_back();
    else if (event == Json::parse_event_t::key &&
             !keys.back().insert(parsed.get<std::string>()).second)
      throw FormatError(filePath + ": " +
                        (depth == 1 ? "tensor '" : "key '") +
                        parsed.get<std::string>() +
                        "' is listed twice in the header");
    return true;
  };
  const char *text = reinterpret_cast<const char *>(bytes) + 8;
  Json root;
  try {
    root = Json::parse(text, text + headerSize, check);
  } catch (const Json::exception &e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 9:
    // ..." names the place in the header (whose first byte is file byte 8).
    throw FormatError(filePath + ": header is not valid JSON: " + e.what());
  }
  if (!root.is_object())
    throw FormatError(filePath + ": header is not a JSON object");

  std::vector<Range> ranges;
  for (const auto &[name, value] : root.items()) {
    if (name == "__metadata__") {
      if (!value.is_object())
        throw FormatError(filePath + ": __metadata__ is not an object");
      for (const auto &[key, v] : value.items()) {
        if (!v.is_string())
          throw FormatError(filePath + ": __metadata__ value of \"" + key +
                            "\" is not a string");
        meta[key] = v.get<std::string>();
      }
      continue;
    }
    std::string where = filePath + ": tensor '" + name + "': ";
    if (!value.is_object())
      throw FormatError(where + "entry is not an object");
    auto field = [&](const char *key) -> const Json * {
      auto it = value.find(key);
      return it == value.end() ? nullptr : &*it;
    };
    const Json *dtype = field("dtype"), *shape = field("shape"),
               *offsets = field("data_offsets");
    if (!dtype || !dtype->is_string())
      throw FormatError(where + "missing or non-string \"dtype\"");
    if (!shape || !shape->is_array())
      throw FormatError(where + "missing or non-array \"shape\"");
    if (!offsets || !offsets->is_array() || offsets->size() != 2)
      throw FormatError(where + "\"data_offsets\" is not an array of two "
                                "integers");
    std::string dtypeName = dtype->get<std::string>();
    const SafetensorsDType *dt = findDType(dtypeName);
    if (!dt)
      throw FormatError(where + "unsupported dtype '" + dtypeName + "'");
    // A JSON integer within int64 (what the format's writers produce).
    auto integer = [](const Json &v) -> std::optional<int64_t> {
      if (v.is_number_unsigned() &&
          v.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max()))
        return static_cast<int64_t>(v.get<uint64_t>());
      if (v.is_number_integer() && v.get<int64_t>() >= 0)
        return v.get<int64_t>();
      return std::nullopt;
    };

    Entry entry{dt->dtype, {}, 0};
    uint64_t numel = 1;
    bool empty = false;
    for (const Json &dim : *shape) {
      std::optional<int64_t> d = integer(dim);
      if (!d)
        throw FormatError(where + "shape has a non-integer or negative entry");
      entry.shape.push_back(*d);
      empty |= *d == 0;
    }
    // With a zero dimension the product is zero, but the others must still
    // multiply within int64 (sizes are computed from the shape elsewhere).
    for (int64_t dim : entry.shape) {
      if (dim == 0)
        continue;
      if (numel >
          static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / 8 /
              static_cast<uint64_t>(dim))
        throw FormatError(where + "shape " + shapeToString(entry.shape) +
                          " has too many elements");
      numel *= static_cast<uint64_t>(dim);
    }
    if (empty)
      numel = 0;
    uint64_t nbytes = numel * dtypeSize(dt->dtype);

    std::optional<int64_t> first = integer((*offsets)[0]),
                           last = integer((*offsets)[1]);
    if (!first || !last)
      throw FormatError(where + "\"data_offsets\" is not an array of two "
                                "non-negative integers");
    uint64_t begin = static_cast<uint64_t>(*first);
    uint64_t end = static_cast<uint64_t>(*last);
    std::string rangeText = "data_offsets [" + std::to_string(begin) + ", " +
                            std::to_string(end) + "]";
    if (begin > end || end > dataSize)
      throw FormatError(where + rangeText +
                        " are not within the data section of " +
                        std::to_string(dataSize) + " bytes");
    if (end - begin != nbytes)
      throw FormatError(where + rangeText + " hold " +
                        std::to_string(end - begin) + " bytes, but " +
                        dtypeName + " " + shapeToString(entry.shape) +
                        " needs " + std::to_string(nbytes));
    entry.offset = dataStart + static_cast<size_t>(begin);
    index.emplace(name, std::move(entry));
    tensorNames.push_back(name);
    if (begin != end)
      ranges.push_back({begin, end, &name});
  }

  std::sort(ranges.begin(), ranges.end(),
            [](const Range &a, const Range &b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].begin < ranges[i - 1].end)
      throw FormatError(filePath + ": tensor '" + *ranges[i].name +
                        "' overlaps tensor '" + *ranges[i - 1].name + "'");
}

void SafetensorsFile::release(const TensorView &view) const {
  auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  auto begin = reinterpret_cast<uintptr_t>(view.data);
  uintptr_t first = (begin + page - 1) / page * page;
  uintptr_t last = (begin + view.bytes()) / page * page;
  if (last > first) // a hint: a failure leaves the pages resident
    ::madvise(reinterpret_cast<void *>(first), last - first, MADV_DONTNEED);
}

TensorView SafetensorsFile::tensor(const std::string &name) const {
  auto it = index.find(name);
  if (it == index.end())
    throw FormatError(filePath + ": no tensor named '" + name + "'");
  TensorView view;
  // The view type is mutable, but the mapping is not: see the header.
  view.data = static_cast<uint8_t *>(mapping) + it->second.offset;
  view.dtype = it->second.dtype;
  view.shape = it->second.shape;
  return view;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

void accel::rt::writeSafetensors(
    const std::string &path, const std::vector<NamedTensor> &tensors,
    const std::map<std::string, std::string> &metadata) {
  std::vector<const NamedTensor *> order;
  std::unordered_set<std::string> seen;
  for (const NamedTensor &t : tensors) {
    std::string where = path + ": tensor '" + t.name + "': ";
    if (t.name == "__metadata__")
      throw FormatError(where + "the name is reserved for the metadata");
    if (!seen.insert(t.name).second)
      throw FormatError(where + "duplicate name");
    if (!findDType(t.view.dtype))
      throw FormatError(where + "invalid dtype");
    for (int64_t dim : t.view.shape)
      if (dim < 0)
        throw FormatError(where + "negative dimension in shape " +
                          shapeToString(t.view.shape));
    if (!t.view.data && t.view.bytes() != 0)
      throw FormatError(where + "no data");
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(),
            [](const NamedTensor *a, const NamedTensor *b) {
              int oa = findDType(a->view.dtype)->order;
              int ob = findDType(b->view.dtype)->order;
              return oa != ob ? oa > ob : a->name < b->name;
            });

  // Compact, fields in the Hugging Face writer's order (serde_json's
  // escaping is nlohmann-json's): headers come out byte-identical.
  nlohmann::ordered_json root = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto &[key, value] : metadata)
      meta[key] = value;
    root["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const NamedTensor *t : order) {
    uint64_t end = offset + t->view.bytes();
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["dtype"] = findDType(t->view.dtype)->name;
    entry["shape"] = t->view.shape;
    entry["data_offsets"] = {offset, end};
    root[t->name] = std::move(entry);
    offset = end;
  }
  std::string header;
  try {
    header = root.dump();
  } catch (const nlohmann::ordered_json::exception &e) {
    throw FormatError(path + ": cannot write the header: " + e.what());
  }
  // Spaces are JSON whitespace; they make the data section 8-byte aligned.
  header.append((8 - header.size() % 8) % 8, ' ');

  uint8_t lengthBytes[8];
  for (int i = 0; i < 8; ++i)
    lengthBytes[i] = static_cast<uint8_t>(uint64_t(header.size()) >> (8 * i));
  std::vector<std::pair<const void *, size_t>> pieces;
  pieces.emplace_back(lengthBytes, sizeof(lengthBytes));
  pieces.emplace_back(header.data(), header.size());
  for (const NamedTensor *t : order)
    pieces.emplace_back(t->view.data, t->view.bytes());
  writeFileAtomically(path, pieces);
}
