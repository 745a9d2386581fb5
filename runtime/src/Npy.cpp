//===- Npy.cpp - NumPy .npy reader and writer ----------------------------===//
//
// Parses the .npy preamble and its header, a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, with a small
// strict parser for exactly that grammar, and writes files the way NumPy
// does (header padded with spaces to a multiple of 64 bytes).
//
//===----------------------------------------------------------------------===//

#include "accel/runtime/Npy.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>

using namespace accel::rt;

namespace {

struct NpyDType {
  DType dtype;
  const char *descr;
};

constexpr NpyDType kDTypes[] = {
    {DType::F32, "<f4"}, {DType::F64, "<f8"}, {DType::F16, "<f2"},
    {DType::I64, "<i8"}, {DType::I32, "<i4"}, {DType::I16, "<i2"},
    {DType::I8, "|i1"},  {DType::U8, "|u1"},  {DType::Bool, "|b1"},
};

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
/// NumPy pads the preamble and header to this multiple.
constexpr size_t kHeaderAlign = 64;
/// Real headers are a few hundred bytes; the cap bounds the allocation.
constexpr uint64_t kMaxHeaderSize = 1 << 20;

/// The header dict's values.
struct NpyHeader {
  std::string descr;
  bool fortranOrder = false;
  Shape shape;
};

/// Parses the header dict literal; errors name the file and the byte offset.
class HeaderParser {
public:
  HeaderParser(const std::string &file, const std::string &text,
               size_t fileOffset)
      : file(file), text(text), fileOffset(fileOffset) {}

  NpyHeader parse() {
    NpyHeader h;
    bool hasDescr = false, hasOrder = false, hasShape = false;
    skipSpace();
    expect('{');
    while (true) {
      skipSpace();
      if (peek() == '}')
        break;
      size_t keyPos = pos;
      std::string key = parseString();
      skipSpace();
      expect(':');
      skipSpace();
      bool *seen = nullptr;
      if (key == "descr") {
        seen = &hasDescr;
        if (peek() != '\'' && peek() != '"')
          fail("'descr' is not a string (structured dtypes are not "
               "supported)");
        h.descr = parseString();
      } else if (key == "fortran_order") {
        seen = &hasOrder;
        h.fortranOrder = parseBool();
      } else if (key == "shape") {
        seen = &hasShape;
        h.shape = parseShape();
      } else {
        pos = keyPos;
        fail("unexpected key '" + key + "'");
      }
      if (*seen) {
        pos = keyPos;
        fail("duplicate key '" + key + "'");
      }
      *seen = true;
      skipSpace();
      if (peek() != ',')
        break;
      ++pos;
    }
    skipSpace();
    expect('}');
    // NumPy pads with spaces and ends the header with a newline.
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\n'))
      ++pos;
    if (pos != text.size())
      fail("unexpected data after the header dict");
    if (!hasDescr || !hasOrder || !hasShape)
      fail("the header lacks one of 'descr', 'fortran_order', 'shape'");
    return h;
  }

private:
  [[noreturn]] void fail(const std::string &what) const {
    throw FormatError(file + ": invalid .npy header at byte " +
                      std::to_string(fileOffset + pos) + ": " + what);
  }

  char peek() const { return pos < text.size() ? text[pos] : '\0'; }

  void skipSpace() {
    while (pos < text.size() && text[pos] == ' ')
      ++pos;
  }

  void expect(char c) {
    if (peek() != c)
      fail(std::string("expected '") + c + "'");
    ++pos;
  }

  std::string parseString() {
    char quote = peek();
    if (quote != '\'' && quote != '"')
      fail("expected a quoted string");
    ++pos;
    size_t start = pos;
    // The header ends in a newline, so a string reaching one is unterminated.
    while (pos < text.size() && text[pos] != quote && text[pos] != '\n') {
      if (text[pos] == '\\')
        fail("unsupported character in string");
      ++pos;
    }
    if (pos >= text.size() || text[pos] == '\n')
      fail("unterminated string");
    return text.substr(start, pos++ - start);
  }

  bool parseBool() {
    if (text.compare(pos, 4, "True") == 0) {
      pos += 4;
      return true;
    }
    if (text.compare(pos, 5, "False") == 0) {
      pos += 5;
      return false;
    }
    fail("expected True or False");
  }

  int64_t parseInt() {
    if (peek() < '0' || peek() > '9')
      fail("expected a non-negative integer");
    int64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      int digit = peek() - '0';
      if (v > (std::numeric_limits<int64_t>::max() - digit) / 10)
        fail("dimension out of range");
      v = v * 10 + digit;
      ++pos;
    }
    // Files written by Python 2 spell dimensions as longs: (3L, 4L).
    if (peek() == 'L')
      ++pos;
    return v;
  }

  /// A Python tuple of integers: (), (3,), (2, 3) or (2, 3,).
  Shape parseShape() {
    Shape shape;
    bool trailingComma = false;
    expect('(');
    while (true) {
      skipSpace();
      if (peek() == ')')
        break;
      shape.push_back(parseInt());
      skipSpace();
      trailingComma = peek() == ',';
      if (!trailingComma)
        break;
      ++pos;
    }
    skipSpace();
    // Without the comma, (3) is a parenthesized integer, not a tuple.
    if (shape.size() == 1 && !trailingComma)
      fail("one-element shape tuple without a trailing comma");
    expect(')');
    return shape;
  }

  const std::string &file;
  const std::string &text;
  size_t fileOffset;
  size_t pos = 0;
};

/// Reads exactly `size` bytes at `offset`; false on a short read or error.
bool preadAll(int fd, void *buf, size_t size, uint64_t offset) {
  char *p = static_cast<char *>(buf);
  while (size > 0) {
    ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

/// Closes a file descriptor when the reader leaves, also by exception.
struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

} // namespace

NpyArray accel::rt::readNpy(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw FormatError(path + ": cannot open: " + std::strerror(errno));
  FdCloser closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    throw FormatError(path + ": not a readable regular file");
  uint64_t fileSize = static_cast<uint64_t>(st.st_size);
  auto readAt = [&](void *buf, size_t size, uint64_t offset) {
    errno = 0;
    if (!preadAll(fd, buf, size, offset))
      throw FormatError(path + ": cannot read " + std::to_string(size) +
                        " bytes at offset " + std::to_string(offset) + ": " +
                        (errno ? std::strerror(errno) : "the file ends first"));
  };

  uint8_t preamble[kMagicSize + 2 + 4] = {};
  if (fileSize < kMagicSize + 4)
    throw FormatError(path + ": file of " + std::to_string(fileSize) +
                      " bytes is too small for a .npy header");
  size_t preambleSize =
      static_cast<size_t>(std::min<uint64_t>(sizeof(preamble), fileSize));
  readAt(preamble, preambleSize, 0);
  if (std::memcmp(preamble, kMagic, kMagicSize) != 0)
    throw FormatError(path + ": not a .npy file (bad magic)");
  unsigned major = preamble[kMagicSize], minor = preamble[kMagicSize + 1];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    throw FormatError(path + ": unsupported .npy format version " +
                      std::to_string(major) + "." + std::to_string(minor));
  // Version 1.0 has a 2-byte header length, later versions a 4-byte one.
  size_t lengthSize = major == 1 ? 2 : 4;
  size_t headerStart = kMagicSize + 2 + lengthSize;
  if (fileSize < headerStart)
    throw FormatError(path + ": truncated .npy preamble");
  uint64_t headerSize = 0;
  for (size_t i = 0; i < lengthSize; ++i)
    headerSize |= uint64_t(preamble[kMagicSize + 2 + i]) << (8 * i);
  if (headerSize > kMaxHeaderSize)
    throw FormatError(path + ": header length " + std::to_string(headerSize) +
                      " exceeds the limit of " +
                      std::to_string(kMaxHeaderSize) + " bytes");
  if (headerSize > fileSize - headerStart)
    throw FormatError(path + ": header length " + std::to_string(headerSize) +
                      " runs past the end of the " + std::to_string(fileSize) +
                      "-byte file");
  std::string text(static_cast<size_t>(headerSize), '\0');
  readAt(&text[0], text.size(), headerStart);
  NpyHeader header = HeaderParser(path, text, headerStart).parse();

  NpyArray array;
  const NpyDType *found = nullptr;
  for (const NpyDType &d : kDTypes)
    if (header.descr == d.descr)
      found = &d;
  if (!found) {
    bool bigEndian = !header.descr.empty() && header.descr[0] == '>';
    throw FormatError(path + ": unsupported dtype '" + header.descr + "'" +
                      (bigEndian ? " (big-endian data is not supported)" : ""));
  }
  if (header.fortranOrder)
    throw FormatError(path + ": Fortran-order arrays are not supported; save "
                             "a C-order copy (numpy.ascontiguousarray)");
  array.dtype = found->dtype;
  array.shape = header.shape;

  size_t elemSize = dtypeSize(array.dtype);
  uint64_t numel = 1;
  bool empty = false;
  for (int64_t dim : array.shape)
    empty |= dim == 0;
  // Every dim counts, also beside a zero one: such a shape would overflow
  // wherever its size is computed.
  for (int64_t dim : array.shape) {
    if (dim == 0)
      continue;
    if (numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) /
                    elemSize / static_cast<uint64_t>(dim))
      throw FormatError(path + ": shape " + shapeToString(array.shape) +
                        " has too many elements");
    numel *= static_cast<uint64_t>(dim);
  }
  if (empty)
    numel = 0;
  uint64_t dataStart = headerStart + headerSize;
  uint64_t expected = numel * elemSize;
  if (fileSize - dataStart != expected)
    throw FormatError(path + ": " + header.descr + " " +
                      shapeToString(array.shape) + " needs " +
                      std::to_string(expected) + " data bytes, the file has " +
                      std::to_string(fileSize - dataStart));
  array.data.resize(static_cast<size_t>(expected));
  if (expected != 0)
    readAt(array.data.data(), array.data.size(), dataStart);
  // The runtime relies on booleans being exactly 0 or 1.
  if (array.dtype == DType::Bool)
    for (size_t i = 0; i < array.data.size(); ++i)
      if (array.data[i] > 1)
        throw FormatError(path + ": bool element " + std::to_string(i) +
                          " has value " + std::to_string(array.data[i]));
  return array;
}

void accel::rt::writeNpy(const std::string &path, const TensorView &tensor) {
  const NpyDType *found = nullptr;
  for (const NpyDType &d : kDTypes)
    if (tensor.dtype == d.dtype)
      found = &d;
  if (!found)
    throw FormatError(path + ": .npy has no " + dtypeName(tensor.dtype) +
                      " dtype; cast the tensor first");
  for (int64_t dim : tensor.shape)
    if (dim < 0)
      throw FormatError(path + ": negative dimension in shape " +
                        shapeToString(tensor.shape));
  if (!tensor.data && tensor.bytes() != 0)
    throw FormatError(path + ": tensor has no data");

  // Python's repr of the shape tuple: (), (3,), (2, 3).
  std::string shape = "(";
  for (size_t i = 0; i < tensor.shape.size(); ++i) {
    if (i)
      shape += ", ";
    shape += std::to_string(tensor.shape[i]);
  }
  if (tensor.shape.size() == 1)
    shape += ',';
  shape += ')';
  std::string header = std::string("{'descr': '") + found->descr +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";

  // Padded with spaces so that the data starts at a multiple of 64; the
  // header ends in '\n'. Version 1.0 allows headers up to 64 KiB.
  auto padding = [&](size_t lengthSize) {
    size_t total = kMagicSize + 2 + lengthSize + header.size() + 1;
    return (kHeaderAlign - total % kHeaderAlign) % kHeaderAlign;
  };
  bool v1 = header.size() + 1 + padding(2) <= 0xffff;
  size_t lengthSize = v1 ? 2 : 4;
  header.append(padding(lengthSize), ' ');
  header += '\n';
  std::string preamble(kMagic, kMagicSize);
  preamble += static_cast<char>(v1 ? 1 : 2);
  preamble += '\0';
  for (size_t i = 0; i < lengthSize; ++i)
    preamble += static_cast<char>((header.size() >> (8 * i)) & 0xff);

  writeFileAtomically(path, {{preamble.data(), preamble.size()},
                             {header.data(), header.size()},
                             {tensor.data, tensor.bytes()}});
}
