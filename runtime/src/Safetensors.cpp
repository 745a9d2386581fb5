//===- Safetensors.cpp - Safetensors reader and writer -------------------===//
//
// Maps safetensors files and validates their JSON header with a small strict
// parser (objects, arrays, strings, integers: all the format uses), and
// writes them in the Hugging Face library's layout. Also implements the
// atomic file write that the runtime's writers share.
//
//===----------------------------------------------------------------------===//

#include "accel/runtime/Safetensors.h"

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

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

struct JsonValue {
  enum class Kind { Object, Array, String, Integer };
  Kind kind = Kind::Integer;
  std::string string;
  int64_t integer = 0;
  std::vector<std::pair<std::string, JsonValue>> members; // in input order
  std::vector<JsonValue> items;
};

/// Parses the header text. Errors name the file and the byte offset in it.
class JsonParser {
public:
  JsonParser(const std::string &file, const char *text, size_t size,
             size_t fileOffset)
      : file(file), text(text), size(size), fileOffset(fileOffset) {}

  JsonValue parseDocument() {
    skipSpace();
    JsonValue v = parseValue(0);
    skipSpace();
    if (pos != size)
      fail("unexpected data after the header object");
    return v;
  }

private:
  /// The header format nests three deep; the cap bounds the recursion.
  static constexpr unsigned kMaxDepth = 16;

  [[noreturn]] void fail(const std::string &what) const {
    throw FormatError(file + ": invalid JSON header at byte " +
                      std::to_string(fileOffset + pos) + ": " + what);
  }

  void skipSpace() {
    while (pos < size && (text[pos] == ' ' || text[pos] == '\t' ||
                          text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }

  void expect(char c) {
    if (pos >= size || text[pos] != c)
      fail(std::string("expected '") + c + "'");
    ++pos;
  }

  JsonValue parseValue(unsigned depth) {
    if (depth > kMaxDepth)
      fail("nested too deeply");
    if (pos >= size)
      fail("unexpected end of header");
    JsonValue v;
    char c = text[pos];
    if (c == '{') {
      v.kind = JsonValue::Kind::Object;
      parseObject(v, depth);
    } else if (c == '[') {
      v.kind = JsonValue::Kind::Array;
      parseArray(v, depth);
    } else if (c == '"') {
      v.kind = JsonValue::Kind::String;
      v.string = parseString();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = JsonValue::Kind::Integer;
      v.integer = parseInteger();
    } else {
      fail(std::string("unexpected character '") + c +
           "' (only objects, arrays, strings and integers are allowed)");
    }
    return v;
  }

  void parseObject(JsonValue &v, unsigned depth) {
    expect('{');
    skipSpace();
    if (pos < size && text[pos] == '}') {
      ++pos;
      return;
    }
    std::unordered_set<std::string> keys;
    while (true) {
      skipSpace();
      if (pos >= size || text[pos] != '"')
        fail("expected a string key");
      size_t keyPos = pos;
      std::string key = parseString();
      if (!keys.insert(key).second) {
        pos = keyPos;
        fail("duplicate key \"" + key + "\"");
      }
      skipSpace();
      expect(':');
      skipSpace();
      v.members.emplace_back(std::move(key), parseValue(depth + 1));
      skipSpace();
      if (pos < size && text[pos] == ',') {
        ++pos;
        continue;
      }
      expect('}');
      return;
    }
  }

  void parseArray(JsonValue &v, unsigned depth) {
    expect('[');
    skipSpace();
    if (pos < size && text[pos] == ']') {
      ++pos;
      return;
    }
    while (true) {
      skipSpace();
      v.items.push_back(parseValue(depth + 1));
      skipSpace();
      if (pos < size && text[pos] == ',') {
        ++pos;
        continue;
      }
      expect(']');
      return;
    }
  }

  unsigned hexDigit() {
    if (pos >= size)
      fail("truncated \\u escape");
    char c = text[pos++];
    if (c >= '0' && c <= '9')
      return static_cast<unsigned>(c - '0');
    if (c >= 'a' && c <= 'f')
      return static_cast<unsigned>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
      return static_cast<unsigned>(c - 'A' + 10);
    --pos;
    fail("invalid hex digit in \\u escape");
  }

  unsigned parseHex4() {
    unsigned v = 0;
    for (int i = 0; i < 4; ++i)
      v = v * 16 + hexDigit();
    return v;
  }

  static void appendUtf8(std::string &out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  /// Length of the well-formed UTF-8 sequence at pos, 0 when malformed.
  size_t utf8Length() const {
    auto byte = [&](size_t i) -> unsigned {
      return pos + i < size ? static_cast<unsigned char>(text[pos + i]) : 0;
    };
    auto cont = [&](size_t i, unsigned lo = 0x80, unsigned hi = 0xbf) {
      return byte(i) >= lo && byte(i) <= hi;
    };
    unsigned b = byte(0);
    if (b >= 0xc2 && b <= 0xdf)
      return cont(1) ? 2 : 0;
    if (b >= 0xe0 && b <= 0xef) {
      // Excludes overlong forms (E0 80..9F) and surrogates (ED A0..BF).
      bool second = b == 0xe0   ? cont(1, 0xa0)
                    : b == 0xed ? cont(1, 0x80, 0x9f)
                                : cont(1);
      return second && cont(2) ? 3 : 0;
    }
    if (b >= 0xf0 && b <= 0xf4) {
      bool second = b == 0xf0   ? cont(1, 0x90)
                    : b == 0xf4 ? cont(1, 0x80, 0x8f)
                                : cont(1);
      return second && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
  }

  std::string parseString() {
    expect('"');
    std::string out;
    while (true) {
      if (pos >= size)
        fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(text[pos]);
      if (c == '"') {
        ++pos;
        return out;
      }
      if (c < 0x20)
        fail("control character in string");
      if (c >= 0x80) {
        size_t n = utf8Length();
        if (n == 0)
          fail("invalid UTF-8 in string");
        out.append(text + pos, n);
        pos += n;
        continue;
      }
      ++pos;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (pos >= size)
        fail("unterminated string");
      char e = text[pos++];
      switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        unsigned cp = parseHex4();
        if (cp >= 0xdc00 && cp <= 0xdfff)
          fail("unpaired low surrogate in \\u escape");
        if (cp >= 0xd800 && cp <= 0xdbff) {
          if (pos + 1 >= size || text[pos] != '\\' || text[pos + 1] != 'u')
            fail("unpaired high surrogate in \\u escape");
          pos += 2;
          unsigned lo = parseHex4();
          if (lo < 0xdc00 || lo > 0xdfff)
            fail("unpaired high surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        --pos;
        fail(std::string("invalid escape '\\") + e + "'");
      }
    }
  }

  int64_t parseInteger() {
    bool negative = text[pos] == '-';
    if (negative)
      ++pos;
    if (pos >= size || text[pos] < '0' || text[pos] > '9')
      fail("expected a digit");
    if (text[pos] == '0' && pos + 1 < size && text[pos + 1] >= '0' &&
        text[pos + 1] <= '9')
      fail("leading zero in integer");
    // Accumulated as a negative number so that INT64_MIN fits.
    int64_t v = 0;
    while (pos < size && text[pos] >= '0' && text[pos] <= '9') {
      int digit = text[pos] - '0';
      if (v < (std::numeric_limits<int64_t>::min() + digit) / 10)
        fail("integer out of range");
      v = v * 10 - digit;
      ++pos;
    }
    if (pos < size &&
        (text[pos] == '.' || text[pos] == 'e' || text[pos] == 'E'))
      fail("only integers are allowed");
    if (!negative) {
      if (v == std::numeric_limits<int64_t>::min())
        fail("integer out of range");
      v = -v;
    }
    return v;
  }

  const std::string &file;
  const char *text;
  size_t size;
  size_t fileOffset;
  size_t pos = 0;
};

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

  JsonParser parser(filePath, reinterpret_cast<const char *>(bytes) + 8,
                    static_cast<size_t>(headerSize), 8);
  JsonValue root = parser.parseDocument();
  if (root.kind != JsonValue::Kind::Object)
    throw FormatError(filePath + ": header is not a JSON object");

  std::vector<Range> ranges;
  for (const auto &[name, value] : root.members) {
    if (name == "__metadata__") {
      if (value.kind != JsonValue::Kind::Object)
        throw FormatError(filePath + ": __metadata__ is not an object");
      for (const auto &[key, v] : value.members) {
        if (v.kind != JsonValue::Kind::String)
          throw FormatError(filePath + ": __metadata__ value of \"" + key +
                            "\" is not a string");
        meta[key] = v.string;
      }
      continue;
    }
    std::string where = filePath + ": tensor '" + name + "': ";
    if (value.kind != JsonValue::Kind::Object)
      throw FormatError(where + "entry is not an object");
    const JsonValue *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (const auto &[key, v] : value.members) {
      if (key == "dtype")
        dtype = &v;
      else if (key == "shape")
        shape = &v;
      else if (key == "data_offsets")
        offsets = &v;
    }
    if (!dtype || dtype->kind != JsonValue::Kind::String)
      throw FormatError(where + "missing or non-string \"dtype\"");
    if (!shape || shape->kind != JsonValue::Kind::Array)
      throw FormatError(where + "missing or non-array \"shape\"");
    if (!offsets || offsets->kind != JsonValue::Kind::Array ||
        offsets->items.size() != 2)
      throw FormatError(where + "\"data_offsets\" is not an array of two "
                                "integers");
    const SafetensorsDType *dt = findDType(dtype->string);
    if (!dt)
      throw FormatError(where + "unsupported dtype '" + dtype->string + "'");

    Entry entry{dt->dtype, {}, 0};
    uint64_t numel = 1;
    bool empty = false;
    for (const JsonValue &dim : shape->items) {
      if (dim.kind != JsonValue::Kind::Integer || dim.integer < 0)
        throw FormatError(where + "shape has a non-integer or negative entry");
      entry.shape.push_back(dim.integer);
      empty |= dim.integer == 0;
    }
    // With a zero dimension the product is zero whatever the others are.
    for (int64_t dim : entry.shape) {
      if (empty)
        break;
      if (numel >
          std::numeric_limits<uint64_t>::max() / 8 / static_cast<uint64_t>(dim))
        throw FormatError(where + "shape " + shapeToString(entry.shape) +
                          " has too many elements");
      numel *= static_cast<uint64_t>(dim);
    }
    if (empty)
      numel = 0;
    uint64_t nbytes = numel * dtypeSize(dt->dtype);

    for (const JsonValue &o : offsets->items)
      if (o.kind != JsonValue::Kind::Integer || o.integer < 0)
        throw FormatError(where + "\"data_offsets\" is not an array of two "
                                  "non-negative integers");
    uint64_t begin = static_cast<uint64_t>(offsets->items[0].integer);
    uint64_t end = static_cast<uint64_t>(offsets->items[1].integer);
    std::string rangeText = "data_offsets [" + std::to_string(begin) + ", " +
                            std::to_string(end) + "]";
    if (begin > end || end > dataSize)
      throw FormatError(where + rangeText +
                        " are not within the data section of " +
                        std::to_string(dataSize) + " bytes");
    if (end - begin != nbytes)
      throw FormatError(where + rangeText + " hold " +
                        std::to_string(end - begin) + " bytes, but " +
                        dtype->string + " " + shapeToString(entry.shape) +
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

/// Quotes `s` as JSON, escaping what serde_json (the Hugging Face writer)
/// escapes, so that headers come out byte-identical.
static void appendJsonString(std::string &out, const std::string &s) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20) {
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
      } else {
        out += ch;
      }
    }
  }
  out += '"';
}

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

  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto &[key, value] : metadata) {
      if (!first)
        header += ',';
      first = false;
      appendJsonString(header, key);
      header += ':';
      appendJsonString(header, value);
    }
    header += '}';
  }
  uint64_t offset = 0;
  for (const NamedTensor *t : order) {
    if (header.size() > 1)
      header += ',';
    appendJsonString(header, t->name);
    header += ":{\"dtype\":\"";
    header += findDType(t->view.dtype)->name;
    header += "\",\"shape\":[";
    for (size_t i = 0; i < t->view.shape.size(); ++i) {
      if (i)
        header += ',';
      header += std::to_string(t->view.shape[i]);
    }
    uint64_t end = offset + t->view.bytes();
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(end) + "]}";
    offset = end;
  }
  header += '}';
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
