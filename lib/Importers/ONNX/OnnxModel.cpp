//===- OnnxModel.cpp - ONNX ModelProto decoder on the raw wire format ----===//
//
// Decodes the subset of onnx.proto described in OnnxModel.h straight from the
// protobuf wire format. Every read is checked against the bounds of the
// enclosing message, so a truncated or hostile file ends in a one-line error
// naming the message path and byte offset, never in undefined behaviour.
// Tensor payloads, whichever field holds them, come out as packed
// little-endian bytes.
//
//===----------------------------------------------------------------------===//

#include "lib/Importers/ONNX/OnnxModel.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <utility>

using namespace accel::onnx;
namespace fs = std::filesystem;

namespace {

struct ElemTypeInfo {
  const char *name;
  unsigned bits;
};

} // namespace

/// Indexed by TensorProto.DataType.
static const ElemTypeInfo kElemTypes[] = {
    {"UNDEFINED", 0},      {"FLOAT", 32},     {"UINT8", 8},
    {"INT8", 8},           {"UINT16", 16},    {"INT16", 16},
    {"INT32", 32},         {"INT64", 64},     {"STRING", 0},
    {"BOOL", 8},           {"FLOAT16", 16},   {"DOUBLE", 64},
    {"UINT32", 32},        {"UINT64", 64},    {"COMPLEX64", 64},
    {"COMPLEX128", 128},   {"BFLOAT16", 16},  {"FLOAT8E4M3FN", 8},
    {"FLOAT8E4M3FNUZ", 8}, {"FLOAT8E5M2", 8}, {"FLOAT8E5M2FNUZ", 8},
    {"UINT4", 4},          {"INT4", 4},       {"FLOAT4E2M1", 4},
    {"FLOAT8E8M0", 8},     {"UINT2", 2},      {"INT2", 2},
    {"FLOAT6E2M3", 6},     {"FLOAT6E3M2", 6},
};
static constexpr int32_t kNumElemTypes =
    static_cast<int32_t>(sizeof(kElemTypes) / sizeof(kElemTypes[0]));

const char *accel::onnx::elemTypeName(int32_t type) {
  if (type < 0 || type >= kNumElemTypes)
    return "UNKNOWN";
  return kElemTypes[type].name;
}

size_t accel::onnx::elemTypeBits(int32_t type) {
  if (type < 0 || type >= kNumElemTypes)
    return 0;
  return kElemTypes[type].bits;
}

size_t accel::onnx::elemTypeSize(int32_t type) {
  size_t bits = elemTypeBits(type);
  return bits % 8 == 0 ? bits / 8 : 0;
}

const Attribute *Node::attr(const std::string &attrName) const {
  for (const Attribute &a : attributes)
    if (a.name == attrName)
      return &a;
  return nullptr;
}

namespace {

enum WireType : unsigned {
  WireVarint = 0,
  WireFixed64 = 1,
  WireLen = 2,
  WireStartGroup = 3,
  WireEndGroup = 4,
  WireFixed32 = 5,
};

const char *wireTypeName(unsigned wire) {
  switch (wire) {
  case WireVarint:
    return "varint";
  case WireFixed64:
    return "64-bit";
  case WireLen:
    return "length-delimited";
  case WireStartGroup:
    return "start-group";
  case WireEndGroup:
    return "end-group";
  case WireFixed32:
    return "32-bit";
  default:
    return "invalid";
  }
}

/// Real models nest a handful of graphs; the limit bounds the decoder's
/// recursion on hostile input.
constexpr unsigned kMaxDepth = 64;

/// One field as read from the wire.
struct Field {
  uint32_t number = 0;
  unsigned wire = WireVarint;
  size_t offset = 0;  // of the field's key
  uint64_t value = 0; // varint and fixed-width values
  size_t begin = 0;   // [begin, end) holds the value's bytes, except varints
  size_t end = 0;
};

/// The input, the error and where the decoder is. Helpers record the first
/// error only and do nothing once one is set, so callers can keep going and
/// check failed() at the end of a message.
class Decoder {
public:
  Decoder(const uint8_t *data, size_t size, std::string baseDir)
      : data(data), size(size), baseDir(std::move(baseDir)) {}

  bool failed() const { return !error.empty(); }
  void fail(const std::string &what, size_t offset) {
    if (failed())
      return;
    error = what + " in " + path + " at byte " + std::to_string(offset);
    // Names quoted from the file must not break the one-line message.
    for (char &c : error)
      if (static_cast<unsigned char>(c) < 0x20)
        c = '?';
  }

  /// Reads a varint at `pos`, which must stay below `end`.
  bool readVarint(size_t &pos, size_t end, uint64_t &out);

  void checkWire(const Field &f, unsigned wire, const char *name);
  void string(const Field &f, const char *name, std::string &out);
  void int64(const Field &f, const char *name, int64_t &out);
  void int32(const Field &f, const char *name, int32_t &out);
  void float32(const Field &f, const char *name, float &out);
  /// A repeated varint field, packed or not; values are truncated to T.
  template <typename T>
  void varints(const Field &f, const char *name, std::vector<T> &out);
  /// A repeated fixed-width field of `width` bytes, packed or not, appended
  /// to `out` as the little-endian bytes found on the wire.
  void fixedBytes(const Field &f, const char *name, unsigned width,
                  std::string &out);

  const uint8_t *data;
  size_t size;
  std::string baseDir;
  std::string path;
  unsigned depth = 0;
  std::string error;
};

/// Appends ".name" or ".name[index]" to the message path while alive, and
/// counts the nesting depth.
class Nested {
public:
  static constexpr size_t kNoIndex = static_cast<size_t>(-1);

  Nested(Decoder &d, const char *name, size_t index = kNoIndex)
      : d(d), oldSize(d.path.size()) {
    if (!d.path.empty())
      d.path += '.';
    d.path += name;
    if (index != kNoIndex)
      d.path += "[" + std::to_string(index) + "]";
    ++d.depth;
  }
  ~Nested() {
    d.path.resize(oldSize);
    --d.depth;
  }
  Nested(const Nested &) = delete;
  Nested &operator=(const Nested &) = delete;

private:
  Decoder &d;
  size_t oldSize;
};

/// Iterates over the fields of the message held by a length-delimited field.
class MessageReader {
public:
  MessageReader(Decoder &d, const Field &msg)
      : d(d), pos(msg.begin), end(msg.end) {
    if (msg.wire != WireLen)
      d.fail(std::string("expected a message, found a ") +
                 wireTypeName(msg.wire) + " value",
             msg.offset);
    else if (d.depth > kMaxDepth)
      d.fail("messages nested deeper than " + std::to_string(kMaxDepth),
             msg.offset);
  }

  /// Reads the next field; false at the end of the message or on error.
  bool next(Field &f);
  /// True when the whole message was read without error.
  bool done() const { return !d.failed(); }

private:
  Decoder &d;
  size_t pos;
  size_t end;
};

} // namespace

static uint64_t loadLE(const uint8_t *p, unsigned width) {
  uint64_t v = 0;
  for (unsigned i = 0; i < width; ++i)
    v |= uint64_t(p[i]) << (8 * i);
  return v;
}

static void appendLE(std::string &out, uint64_t v, unsigned width) {
  for (unsigned i = 0; i < width; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool Decoder::readVarint(size_t &pos, size_t end, uint64_t &out) {
  size_t start = pos;
  uint64_t v = 0;
  for (unsigned shift = 0;; shift += 7) {
    if (pos >= end) {
      fail("truncated varint", start);
      return false;
    }
    uint8_t b = data[pos++];
    // The tenth byte holds the top bit of a 64-bit value and nothing more.
    if (shift == 63 && (b & 0x80)) {
      fail("varint longer than 10 bytes", start);
      return false;
    }
    if (shift == 63 && b > 1) {
      fail("varint overflows 64 bits", start);
      return false;
    }
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      out = v;
      return true;
    }
  }
}

bool MessageReader::next(Field &f) {
  if (d.failed() || pos >= end)
    return false;
  f = Field();
  f.offset = pos;
  uint64_t key;
  if (!d.readVarint(pos, end, key))
    return false;
  f.wire = static_cast<unsigned>(key & 7);
  if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff) {
    d.fail("invalid field number " + std::to_string(key >> 3), f.offset);
    return false;
  }
  f.number = static_cast<uint32_t>(key >> 3);
  std::string field = "field " + std::to_string(f.number);
  switch (f.wire) {
  case WireVarint:
    return d.readVarint(pos, end, f.value);
  case WireFixed64:
  case WireFixed32: {
    unsigned width = f.wire == WireFixed64 ? 8 : 4;
    if (end - pos < width) {
      d.fail("truncated " + std::string(wireTypeName(f.wire)) + " value of " +
                 field,
             pos);
      return false;
    }
    f.begin = pos;
    f.end = pos + width;
    f.value = loadLE(d.data + pos, width);
    pos += width;
    return true;
  }
  case WireLen: {
    uint64_t len;
    if (!d.readVarint(pos, end, len))
      return false;
    if (len > end - pos) {
      d.fail(field + " of " + std::to_string(len) +
                 " bytes runs past the end of its message (" +
                 std::to_string(end - pos) + " bytes left)",
             pos);
      return false;
    }
    f.begin = pos;
    f.end = pos + static_cast<size_t>(len);
    pos = f.end;
    return true;
  }
  case WireStartGroup:
  case WireEndGroup:
    d.fail("unsupported group wire type in " + field, f.offset);
    return false;
  default:
    d.fail("invalid wire type " + std::to_string(f.wire) + " in " + field,
           f.offset);
    return false;
  }
}

void Decoder::checkWire(const Field &f, unsigned wire, const char *name) {
  if (f.wire != wire)
    fail(std::string("field '") + name + "' has " + wireTypeName(f.wire) +
             " wire type, expected " + wireTypeName(wire),
         f.offset);
}

void Decoder::string(const Field &f, const char *name, std::string &out) {
  checkWire(f, WireLen, name);
  if (!failed())
    out.assign(reinterpret_cast<const char *>(data) + f.begin, f.end - f.begin);
}

void Decoder::int64(const Field &f, const char *name, int64_t &out) {
  checkWire(f, WireVarint, name);
  out = static_cast<int64_t>(f.value);
}

void Decoder::int32(const Field &f, const char *name, int32_t &out) {
  // Negative int32 values are sign-extended to 64 bits on the wire.
  checkWire(f, WireVarint, name);
  out = static_cast<int32_t>(static_cast<uint32_t>(f.value));
}

void Decoder::float32(const Field &f, const char *name, float &out) {
  checkWire(f, WireFixed32, name);
  uint32_t bits = static_cast<uint32_t>(f.value);
  std::memcpy(&out, &bits, sizeof(out));
}

template <typename T>
void Decoder::varints(const Field &f, const char *name, std::vector<T> &out) {
  if (f.wire == WireVarint) {
    out.push_back(static_cast<T>(f.value));
    return;
  }
  checkWire(f, WireLen, name);
  size_t pos = f.begin;
  uint64_t v;
  while (!failed() && pos < f.end && readVarint(pos, f.end, v))
    out.push_back(static_cast<T>(v));
}

void Decoder::fixedBytes(const Field &f, const char *name, unsigned width,
                         std::string &out) {
  if (f.wire != (width == 4 ? WireFixed32 : WireFixed64)) {
    checkWire(f, WireLen, name);
    if (!failed() && (f.end - f.begin) % width != 0)
      fail(std::string("packed field '") + name + "' has " +
               std::to_string(f.end - f.begin) + " bytes, not a multiple of " +
               std::to_string(width),
           f.offset);
  }
  if (!failed())
    out.append(reinterpret_cast<const char *>(data) + f.begin, f.end - f.begin);
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

namespace {

/// TensorProto fields before the element type is known: the payload may sit
/// in any of them, and the type may come after it on the wire.
struct TensorPayload {
  bool hasRaw = false;
  std::string raw;
  std::string floatBytes;
  std::string doubleBytes;
  std::vector<uint32_t> int32s;
  std::vector<uint64_t> int64s;
  std::vector<uint64_t> uint64s;
  std::vector<std::pair<std::string, std::string>> external;
  int32_t location = 0;
};

/// The typed TensorProto field that holds each element type.
enum class TypedField { Float, Int32, String, Int64, Double, Uint64 };

} // namespace

static TypedField typedFieldFor(int32_t type) {
  switch (static_cast<ElemType>(type)) {
  case ElemType::Float:
  case ElemType::Complex64:
    return TypedField::Float;
  case ElemType::Double:
  case ElemType::Complex128:
    return TypedField::Double;
  case ElemType::Int64:
    return TypedField::Int64;
  case ElemType::Uint32:
  case ElemType::Uint64:
    return TypedField::Uint64;
  case ElemType::String:
    return TypedField::String;
  default:
    // Every other type (8/16/32-bit integers, bool, the 16- and 8-bit floats
    // and the packed sub-byte types) travels in int32_data.
    return TypedField::Int32;
  }
}

static std::string describeTensor(const Tensor &t) {
  return t.name.empty() ? std::string("unnamed tensor")
                        : "tensor '" + t.name + "'";
}

static bool parseDecimal(const std::string &s, uint64_t &out) {
  if (s.empty())
    return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10)
      return false;
    v = v * 10 + digit;
  }
  out = v;
  return true;
}

/// Reads the `expected` payload bytes of `t` from the file its external_data
/// entries name.
static void readExternal(Decoder &d, const TensorPayload &p, Tensor &t,
                         uint64_t expected, size_t offset) {
  std::string what = describeTensor(t);
  std::string location;
  uint64_t start = 0, length = 0;
  bool hasLength = false;
  for (const auto &[key, value] : p.external) {
    if (key == "location") {
      location = value;
    } else if (key == "offset" || key == "length") {
      uint64_t n;
      if (!parseDecimal(value, n))
        return d.fail("external data " + key + " '" + value + "' of " + what +
                          " is not a decimal integer",
                      offset);
      if (key == "offset") {
        start = n;
      } else {
        length = n;
        hasLength = true;
      }
    }
  }
  if (d.baseDir.empty())
    return d.fail(what + " has external data, which is not allowed for a "
                         "model that was not loaded from a file",
                  offset);
  if (location.empty())
    return d.fail(what + " has external data without a location", offset);
  // Only the textual path is constrained: symlinks stay allowed because
  // model caches (e.g. Hugging Face's) store every file as one.
  fs::path rel(location);
  if (rel.is_absolute() || rel.has_root_name())
    return d.fail("external data location '" + location + "' of " + what +
                      " is an absolute path",
                  offset);
  for (const fs::path &part : rel)
    if (part == "..")
      return d.fail("external data location '" + location + "' of " + what +
                        " leaves the model directory",
                    offset);
  std::string file = (fs::path(d.baseDir) / rel).string();
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    return d.fail("external data file '" + file + "' of " + what +
                      " is not a readable file",
                  offset);
  uint64_t fileSize = fs::file_size(file, ec);
  if (ec)
    return d.fail("cannot read external data file '" + file + "' of " + what +
                      ": " + ec.message(),
                  offset);
  if (start > fileSize || (hasLength && length > fileSize - start))
    return d.fail("external data of " + what + " (offset " +
                      std::to_string(start) + ", length " +
                      std::to_string(hasLength ? length : 0) +
                      ") runs past the end of '" + file + "' (" +
                      std::to_string(fileSize) + " bytes)",
                  offset);
  if (!hasLength)
    length = fileSize - start;
  // Checked before reading so that a bogus length never allocates.
  if (length != expected)
    return d.fail(what + " has " + std::to_string(length) +
                      " bytes of external data, expected " +
                      std::to_string(expected),
                  offset);
  std::ifstream in(file, std::ios::binary);
  t.bytes.resize(static_cast<size_t>(length));
  in.seekg(static_cast<std::streamoff>(start));
  if (length != 0)
    in.read(&t.bytes[0], static_cast<std::streamsize>(length));
  if (!in)
    d.fail("cannot read external data of " + what + " from '" + file + "'",
           offset);
}

/// Moves the int32_data values into packed bytes for element type `type`.
static void packInt32Data(const std::vector<uint32_t> &values, int32_t type,
                          std::string &out) {
  size_t bits = elemTypeBits(type);
  if (bits >= 8) {
    for (uint32_t v : values)
      appendLE(out, v, static_cast<unsigned>(bits / 8));
    return;
  }
  if (bits != 6) {
    // 4- and 2-bit values arrive already packed, one byte per entry.
    for (uint32_t v : values)
      out.push_back(static_cast<char>(v & 0xff));
    return;
  }
  // 6-bit values arrive one per entry and form an LSB-first bit stream.
  uint32_t acc = 0;
  unsigned held = 0;
  for (uint32_t v : values) {
    acc |= (v & 0x3f) << held;
    held += 6;
    while (held >= 8) {
      out.push_back(static_cast<char>(acc & 0xff));
      acc >>= 8;
      held -= 8;
    }
  }
  if (held > 0)
    out.push_back(static_cast<char>(acc & 0xff));
}

/// Checks the element type and shape of `t`, then moves whichever field
/// holds its payload into t.bytes (or t.strings) and checks its size.
static void finishTensor(Decoder &d, TensorPayload &p, Tensor &t,
                         size_t offset) {
  std::string what = describeTensor(t);
  if (t.elemType == 0 || (elemTypeBits(t.elemType) == 0 &&
                          t.elemType != int32_t(ElemType::String)))
    return d.fail(what + " has unsupported data type " +
                      std::to_string(t.elemType),
                  offset);
  if (p.location != 0 && p.location != 1)
    return d.fail(what + " has invalid data_location " +
                      std::to_string(p.location),
                  offset);

  enum class Source { None, Raw, External, Typed };
  struct Candidate {
    bool present;
    const char *name;
    Source source;
    TypedField field;
  };
  const Candidate candidates[] = {
      {p.hasRaw, "raw_data", Source::Raw, TypedField::Float},
      {p.location == 1, "external_data", Source::External, TypedField::Float},
      {!p.floatBytes.empty(), "float_data", Source::Typed, TypedField::Float},
      {!p.int32s.empty(), "int32_data", Source::Typed, TypedField::Int32},
      {!t.strings.empty(), "string_data", Source::Typed, TypedField::String},
      {!p.int64s.empty(), "int64_data", Source::Typed, TypedField::Int64},
      {!p.doubleBytes.empty(), "double_data", Source::Typed,
       TypedField::Double},
      {!p.uint64s.empty(), "uint64_data", Source::Typed, TypedField::Uint64},
  };
  const Candidate *used = nullptr;
  for (const Candidate &c : candidates) {
    if (!c.present)
      continue;
    if (used)
      return d.fail(what + " has data in both " + used->name + " and " + c.name,
                    offset);
    used = &c;
  }
  Source source = used ? used->source : Source::None;
  TypedField field = typedFieldFor(t.elemType);
  std::string typeName = elemTypeName(t.elemType);
  // Typed fields may only hold the types the spec assigns to them; STRING
  // data may only be in string_data.
  if ((source == Source::Typed && used->field != field) ||
      (field == TypedField::String && source != Source::None &&
       source != Source::Typed))
    return d.fail(what + " of type " + typeName + " cannot hold data in " +
                      used->name,
                  offset);

  bool empty = false;
  for (int64_t dim : t.dims) {
    if (dim < 0)
      return d.fail(what + " has negative dimension " + std::to_string(dim),
                    offset);
    empty |= dim == 0;
  }
  // Capped so that numel * bits below cannot overflow.
  const uint64_t kMaxNumel = std::numeric_limits<uint64_t>::max() / 256;
  uint64_t numel = empty ? 0 : 1;
  for (int64_t dim : t.dims) {
    if (empty)
      break;
    if (numel > kMaxNumel / static_cast<uint64_t>(dim))
      return d.fail(what + " has too many elements", offset);
    numel *= static_cast<uint64_t>(dim);
  }

  if (field == TypedField::String) {
    if (t.strings.size() != numel)
      return d.fail(what + " has " + std::to_string(t.strings.size()) +
                        " strings, expected " + std::to_string(numel),
                    offset);
    return;
  }

  size_t bits = elemTypeBits(t.elemType);
  uint64_t expected = (numel * bits + 7) / 8;
  if (source == Source::Raw) {
    t.bytes = std::move(p.raw);
  } else if (source == Source::External) {
    readExternal(d, p, t, expected, offset);
  } else if (source == Source::Typed) {
    switch (field) {
    case TypedField::Float:
      t.bytes = std::move(p.floatBytes);
      break;
    case TypedField::Double:
      t.bytes = std::move(p.doubleBytes);
      break;
    case TypedField::Int64:
      for (uint64_t v : p.int64s)
        appendLE(t.bytes, v, 8);
      break;
    case TypedField::Uint64:
      for (uint64_t v : p.uint64s)
        appendLE(t.bytes, v, static_cast<unsigned>(bits / 8));
      break;
    case TypedField::Int32:
      // 6-bit values take one entry each but pack into fewer bytes, so a
      // wrong count need not show in the byte size.
      if (bits == 6 && p.int32s.size() != numel)
        return d.fail(what + " has " + std::to_string(p.int32s.size()) +
                          " int32_data values, expected " +
                          std::to_string(numel),
                      offset);
      packInt32Data(p.int32s, t.elemType, t.bytes);
      break;
    case TypedField::String:
      break;
    }
  }
  if (!d.failed() && t.bytes.size() != expected)
    d.fail(what + " has " + std::to_string(t.bytes.size()) +
               " bytes of data, expected " + std::to_string(expected) + " (" +
               std::to_string(numel) + " x " + typeName + ")",
           offset);
}

static void decodeStringEntry(Decoder &d, const Field &msg,
                              std::pair<std::string, std::string> &entry) {
  MessageReader r(d, msg);
  Field f;
  while (r.next(f)) {
    if (f.number == 1)
      d.string(f, "key", entry.first);
    else if (f.number == 2)
      d.string(f, "value", entry.second);
  }
}

/// One metadata_props entry; a repeated key keeps its last value, as
/// protobuf maps do.
static void decodeMetadataEntry(Decoder &d, const Field &msg, size_t index,
                                Metadata &metadata) {
  Nested n(d, "metadata_props", index);
  std::pair<std::string, std::string> entry;
  decodeStringEntry(d, msg, entry);
  metadata[entry.first] = std::move(entry.second);
}

static void decodeTensor(Decoder &d, const Field &msg, Tensor &t) {
  MessageReader r(d, msg);
  TensorPayload p;
  Field f;
  while (r.next(f)) {
    switch (f.number) {
    case 1:
      d.varints(f, "dims", t.dims);
      break;
    case 2:
      d.int32(f, "data_type", t.elemType);
      break;
    case 4:
      d.fixedBytes(f, "float_data", 4, p.floatBytes);
      break;
    case 5:
      d.varints(f, "int32_data", p.int32s);
      break;
    case 6:
      d.string(f, "string_data", t.strings.emplace_back());
      break;
    case 7:
      d.varints(f, "int64_data", p.int64s);
      break;
    case 8:
      d.string(f, "name", t.name);
      break;
    case 9:
      d.string(f, "raw_data", p.raw);
      p.hasRaw = true;
      break;
    case 10:
      d.fixedBytes(f, "double_data", 8, p.doubleBytes);
      break;
    case 11:
      d.varints(f, "uint64_data", p.uint64s);
      break;
    case 13: {
      Nested n(d, "external_data", p.external.size());
      decodeStringEntry(d, f, p.external.emplace_back());
      break;
    }
    case 14:
      d.int32(f, "data_location", p.location);
      break;
    case 16:
      decodeMetadataEntry(d, f, t.metadata.size(), t.metadata);
      break;
    default:
      break;
    }
  }
  if (r.done())
    finishTensor(d, p, t, msg.offset);
}

//===----------------------------------------------------------------------===//
// Types and value infos
//===----------------------------------------------------------------------===//

static void decodeDimension(Decoder &d, const Field &msg, ValueInfo &vi) {
  MessageReader r(d, msg);
  int64_t &dim = vi.dims.emplace_back(-1);
  std::string &param = vi.dimParams.emplace_back();
  Field f;
  while (r.next(f)) {
    if (f.number == 1) {
      d.int64(f, "dim_value", dim);
      param.clear();
      if (dim < 0)
        d.fail("negative dim_value " + std::to_string(dim), f.offset);
    } else if (f.number == 2) {
      d.string(f, "dim_param", param);
      dim = -1;
    }
  }
}

static void decodeTensorType(Decoder &d, const Field &msg, ValueInfo &vi) {
  MessageReader r(d, msg);
  Field f;
  while (r.next(f)) {
    if (f.number == 1) {
      d.int32(f, "elem_type", vi.elemType);
    } else if (f.number == 2) {
      Nested n(d, "shape");
      MessageReader shape(d, f);
      vi.hasShape = true;
      vi.dims.clear();
      vi.dimParams.clear();
      Field dimField;
      while (shape.next(dimField)) {
        if (dimField.number != 1)
          continue;
        Nested nd(d, "dim", vi.dims.size());
        decodeDimension(d, dimField, vi);
      }
    }
  }
}

static void decodeValueInfo(Decoder &d, const Field &msg, ValueInfo &vi) {
  MessageReader r(d, msg);
  Field f;
  while (r.next(f)) {
    if (f.number == 1) {
      d.string(f, "name", vi.name);
    } else if (f.number == 2) {
      Nested n(d, "type");
      MessageReader type(d, f);
      Field tf;
      while (type.next(tf)) {
        switch (tf.number) {
        case 1: {
          Nested nt(d, "tensor_type");
          vi.isTensor = true;
          decodeTensorType(d, tf, vi);
          break;
        }
        case 4: // sequence_type
        case 5: // map_type
        case 7: // opaque_type
        case 8: // sparse_tensor_type
        case 9: // optional_type
          d.checkWire(tf, WireLen, "value");
          vi.isTensor = false;
          break;
        default:
          break;
        }
      }
    } else if (f.number == 4) {
      decodeMetadataEntry(d, f, vi.metadata.size(), vi.metadata);
    }
  }
}

//===----------------------------------------------------------------------===//
// Graphs, nodes, attributes, functions
//===----------------------------------------------------------------------===//

static void decodeGraph(Decoder &d, const Field &msg, Graph &g);

static void decodeAttribute(Decoder &d, const Field &msg, Attribute &a) {
  MessageReader r(d, msg);
  // Value fields seen (all numbered below 32), for attributes written before
  // `type` was mandatory.
  uint32_t seen = 0;
  std::string floatBytes;
  Field f;
  while (r.next(f)) {
    if (f.number < 32)
      seen |= 1u << f.number;
    switch (f.number) {
    case 1:
      d.string(f, "name", a.name);
      break;
    case 2:
      d.float32(f, "f", a.f);
      break;
    case 3:
      d.int64(f, "i", a.i);
      break;
    case 4:
      d.string(f, "s", a.s);
      break;
    case 5: {
      Nested n(d, "t");
      a.t = Tensor();
      decodeTensor(d, f, a.t);
      break;
    }
    case 6: {
      Nested n(d, "g");
      a.g = std::make_shared<Graph>();
      decodeGraph(d, f, *a.g);
      break;
    }
    case 7:
      d.fixedBytes(f, "floats", 4, floatBytes);
      break;
    case 8:
      d.varints(f, "ints", a.ints);
      break;
    case 9:
      d.string(f, "strings", a.strings.emplace_back());
      break;
    case 10: {
      Nested n(d, "tensors", a.tensors.size());
      decodeTensor(d, f, a.tensors.emplace_back());
      break;
    }
    case 11: {
      Nested n(d, "graphs", a.graphs.size());
      a.graphs.push_back(std::make_shared<Graph>());
      decodeGraph(d, f, *a.graphs.back());
      break;
    }
    case 20:
      d.int32(f, "type", a.kind);
      break;
    case 21:
      d.string(f, "ref_attr_name", a.refAttrName);
      break;
    default:
      break;
    }
  }
  for (size_t i = 0; i + 4 <= floatBytes.size(); i += 4) {
    uint32_t bits = static_cast<uint32_t>(
        loadLE(reinterpret_cast<const uint8_t *>(floatBytes.data()) + i, 4));
    float v;
    std::memcpy(&v, &bits, sizeof(v));
    a.floats.push_back(v);
  }
  if (a.kind != Attribute::Undefined)
    return;
  static const std::pair<uint32_t, Attribute::Kind> kFieldKinds[] = {
      {2, Attribute::Float},     {3, Attribute::Int},
      {4, Attribute::String},    {5, Attribute::TensorKind},
      {6, Attribute::GraphKind}, {7, Attribute::Floats},
      {8, Attribute::Ints},      {9, Attribute::Strings},
      {10, Attribute::Tensors},  {11, Attribute::Graphs},
  };
  for (const auto &[number, kind] : kFieldKinds)
    if (seen & (1u << number)) {
      a.kind = kind;
      return;
    }
}

static void decodeNode(Decoder &d, const Field &msg, Node &node) {
  MessageReader r(d, msg);
  Field f;
  while (r.next(f)) {
    switch (f.number) {
    case 1:
      d.string(f, "input", node.inputs.emplace_back());
      break;
    case 2:
      d.string(f, "output", node.outputs.emplace_back());
      break;
    case 3:
      d.string(f, "name", node.name);
      break;
    case 4:
      d.string(f, "op_type", node.opType);
      break;
    case 5: {
      Nested n(d, "attribute", node.attributes.size());
      decodeAttribute(d, f, node.attributes.emplace_back());
      break;
    }
    case 7:
      d.string(f, "domain", node.domain);
      break;
    case 9:
      decodeMetadataEntry(d, f, node.metadata.size(), node.metadata);
      break;
    default:
      break;
    }
  }
}

static void decodeOpsetImport(Decoder &d, const Field &msg,
                              std::map<std::string, int64_t> &imports) {
  MessageReader r(d, msg);
  std::string domain;
  int64_t version = 0;
  Field f;
  while (r.next(f)) {
    if (f.number == 1)
      d.string(f, "domain", domain);
    else if (f.number == 2)
      d.int64(f, "version", version);
  }
  if (domain == "ai.onnx")
    domain.clear();
  imports[domain] = version;
}

/// The name of a SparseTensorProto, which lives in its `values` tensor.
static void decodeSparseName(Decoder &d, const Field &msg, std::string &name) {
  MessageReader r(d, msg);
  Field f;
  while (r.next(f)) {
    if (f.number != 1)
      continue;
    Nested n(d, "values");
    MessageReader values(d, f);
    Field vf;
    while (values.next(vf))
      if (vf.number == 8)
        d.string(vf, "name", name);
  }
}

/// The first of `names` that a node of `g` or of its subgraphs reads or that
/// `g` outputs; null when none is used.
static const std::string *findUse(const Graph &g,
                                  const std::map<std::string, size_t> &names) {
  for (const ValueInfo &out : g.outputs)
    if (names.count(out.name))
      return &out.name;
  for (const Node &node : g.nodes) {
    for (const std::string &in : node.inputs)
      if (names.count(in))
        return &in;
    for (const Attribute &a : node.attributes) {
      if (a.g)
        if (const std::string *use = findUse(*a.g, names))
          return use;
      for (const auto &sub : a.graphs)
        if (const std::string *use = findUse(*sub, names))
          return use;
    }
  }
  return nullptr;
}

static void decodeGraph(Decoder &d, const Field &msg, Graph &g) {
  MessageReader r(d, msg);
  std::map<std::string, size_t> sparse; // name -> offset
  size_t numSparse = 0;
  Field f;
  while (r.next(f)) {
    switch (f.number) {
    case 1: {
      Nested n(d, "node", g.nodes.size());
      decodeNode(d, f, g.nodes.emplace_back());
      break;
    }
    case 2:
      d.string(f, "name", g.name);
      break;
    case 5: {
      Nested n(d, "initializer", g.initializers.size());
      decodeTensor(d, f, g.initializers.emplace_back());
      break;
    }
    case 11: {
      Nested n(d, "input", g.inputs.size());
      decodeValueInfo(d, f, g.inputs.emplace_back());
      break;
    }
    case 12: {
      Nested n(d, "output", g.outputs.size());
      decodeValueInfo(d, f, g.outputs.emplace_back());
      break;
    }
    case 13: {
      Nested n(d, "value_info", g.valueInfo.size());
      decodeValueInfo(d, f, g.valueInfo.emplace_back());
      break;
    }
    case 15: {
      Nested n(d, "sparse_initializer", numSparse++);
      std::string name;
      decodeSparseName(d, f, name);
      sparse.emplace(std::move(name), f.offset);
      break;
    }
    default:
      break;
    }
  }
  if (!r.done())
    return;
  // An unused sparse initializer is harmless; a used one would be a missing
  // value to the importer, so it is rejected here with its position.
  if (sparse.empty())
    return;
  if (const std::string *use = findUse(g, sparse))
    d.fail("sparse initializer '" + *use + "' is not supported",
           sparse.at(*use));
}

static void decodeFunction(Decoder &d, const Field &msg, Function &fn) {
  MessageReader r(d, msg);
  size_t numOpsets = 0;
  Field f;
  while (r.next(f)) {
    switch (f.number) {
    case 1:
      d.string(f, "name", fn.name);
      break;
    case 4:
      d.string(f, "input", fn.inputs.emplace_back());
      break;
    case 5:
      d.string(f, "output", fn.outputs.emplace_back());
      break;
    case 6:
      d.string(f, "attribute", fn.attributeNames.emplace_back());
      break;
    case 7: {
      Nested n(d, "node", fn.nodes.size());
      decodeNode(d, f, fn.nodes.emplace_back());
      break;
    }
    case 9: {
      Nested n(d, "opset_import", numOpsets++);
      decodeOpsetImport(d, f, fn.opsetImports);
      break;
    }
    case 10:
      d.string(f, "domain", fn.domain);
      break;
    case 11: {
      Nested n(d, "attribute_proto", fn.attributeDefaults.size());
      Attribute &a = fn.attributeDefaults.emplace_back();
      decodeAttribute(d, f, a);
      fn.attributeNames.push_back(a.name);
      break;
    }
    default:
      break;
    }
  }
}

static void decodeModel(Decoder &d, const Field &msg, Model &m) {
  Nested root(d, "ModelProto");
  MessageReader r(d, msg);
  bool hasGraph = false;
  size_t numOpsets = 0;
  Field f;
  while (r.next(f)) {
    switch (f.number) {
    case 1:
      d.int64(f, "ir_version", m.irVersion);
      break;
    case 2:
      d.string(f, "producer_name", m.producerName);
      break;
    case 3:
      d.string(f, "producer_version", m.producerVersion);
      break;
    case 7: {
      Nested n(d, "graph");
      m.graph = Graph();
      decodeGraph(d, f, m.graph);
      hasGraph = true;
      break;
    }
    case 8: {
      Nested n(d, "opset_import", numOpsets++);
      decodeOpsetImport(d, f, m.opsetImports);
      break;
    }
    case 14:
      decodeMetadataEntry(d, f, m.metadata.size(), m.metadata);
      break;
    case 25: {
      Nested n(d, "functions", m.functions.size());
      decodeFunction(d, f, m.functions.emplace_back());
      break;
    }
    default:
      break;
    }
  }
  if (r.done() && !hasGraph)
    d.fail("missing graph", msg.end);
}

bool accel::onnx::parseModel(const uint8_t *data, size_t size,
                             const std::string &baseDir, Model &model,
                             std::string &error) {
  Decoder d(data, size, baseDir);
  Field whole;
  whole.wire = WireLen;
  whole.end = size;
  model = Model();
  decodeModel(d, whole, model);
  if (!d.failed())
    return true;
  error = d.error;
  model = Model();
  return false;
}

bool accel::onnx::loadModelFile(const std::string &path, Model &model,
                                std::string &error) {
  std::error_code ec;
  uint64_t size = fs::file_size(path, ec);
  if (ec) {
    error = "cannot read '" + path + "': " + ec.message();
    return false;
  }
  std::string bytes(static_cast<size_t>(size), '\0');
  std::ifstream in(path, std::ios::binary);
  if (size != 0)
    in.read(&bytes[0], static_cast<std::streamsize>(size));
  if (!in) {
    error = "cannot read '" + path + "'";
    return false;
  }
  std::string baseDir = fs::path(path).parent_path().string();
  if (baseDir.empty())
    baseDir = ".";
  if (parseModel(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(),
                 baseDir, model, error))
    return true;
  error = path + ": " + error;
  return false;
}
