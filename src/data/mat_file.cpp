#include "dkd/data/mat_file.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <algorithm>
#include <fstream>
#include <memory>
#include <mutex>

#include <matio.h>

#include "dkd/util/error.h"
#include "dkd/util/runtime.h"

namespace dkd {

namespace {

void silent_log(int /*level*/, char* /*message*/) {}

struct VarDeleter {
  void operator()(matvar_t* v) const {
    if (v) Mat_VarFree(v);
  }
};

const char* class_name_of(matio_classes c) {
  switch (c) {
    case MAT_C_DOUBLE:
      return "double";
    case MAT_C_SINGLE:
      return "single";
    case MAT_C_INT8:
      return "int8";
    case MAT_C_UINT8:
      return "uint8";
    case MAT_C_INT16:
      return "int16";
    case MAT_C_UINT16:
      return "uint16";
    case MAT_C_INT32:
      return "int32";
    case MAT_C_UINT32:
      return "uint32";
    case MAT_C_INT64:
      return "int64";
    case MAT_C_UINT64:
      return "uint64";
    case MAT_C_CHAR:
      return "char";
    case MAT_C_CELL:
      return "cell";
    case MAT_C_STRUCT:
      return "struct";
    case MAT_C_SPARSE:
      return "sparse";
    case MAT_C_OBJECT:
      return "object";
    case MAT_C_FUNCTION:
      return "function";
    default:
      return "unknown";
  }
}

template <class T>
void convert(const void* src, std::size_t n, std::vector<double>& out) {
  out.resize(n);
  const T* p = static_cast<const T*>(src);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<double>(p[i]);
}

/// Converts matio's in-memory buffer (typed by data_type) to doubles; false if unknown type.
bool to_doubles(const matvar_t* v, std::size_t n, std::vector<double>& out) {
  switch (v->data_type) {
    case MAT_T_DOUBLE:
      convert<double>(v->data, n, out);
      return true;
    case MAT_T_SINGLE:
      convert<float>(v->data, n, out);
      return true;
    case MAT_T_INT8:
      convert<int8_t>(v->data, n, out);
      return true;
    case MAT_T_UINT8:
      convert<uint8_t>(v->data, n, out);
      return true;
    case MAT_T_INT16:
      convert<int16_t>(v->data, n, out);
      return true;
    case MAT_T_UINT16:
      convert<uint16_t>(v->data, n, out);
      return true;
    case MAT_T_INT32:
      convert<int32_t>(v->data, n, out);
      return true;
    case MAT_T_UINT32:
      convert<uint32_t>(v->data, n, out);
      return true;
    case MAT_T_INT64:
      convert<int64_t>(v->data, n, out);
      return true;
    case MAT_T_UINT64:
      convert<uint64_t>(v->data, n, out);
      return true;
    default:
      break;
  }
  // Fall back on the data size for buffers typed only by their width.
  switch (v->data_size) {
    case 1:
      convert<uint8_t>(v->data, n, out);
      return true;
    case 2:
      convert<uint16_t>(v->data, n, out);
      return true;
    default:
      return false;
  }
}

std::size_t numel_of(const matvar_t* v) {
  if (v->rank <= 0 || !v->dims) return 0;
  std::size_t n = 1;
  for (int i = 0; i < v->rank; ++i) n *= v->dims[i];
  return n;
}

std::string dims_string(const matvar_t* v) {
  if (!v->dims) return "?";
  std::string s;
  for (int i = 0; i < v->rank; ++i) {
    if (i) s += "x";
    s += std::to_string(v->dims[i]);
  }
  return s;
}

uint32_t read_u32(const std::string& b, std::size_t pos) {
  uint32_t v;
  std::memcpy(&v, b.data() + pos, 4);
  return v;
}

/// Walks the top-level elements of a little-endian level-5 file and checks the
/// sizes matio would otherwise trust (a corrupt tag can make it allocate
/// gigabytes). Returns "" when the structure is plausible, else the problem.
std::string check_level5_structure(const std::string& b) {
  constexpr uint32_t kMatrix = 14, kCompressed = 15;
  std::size_t pos = 128;
  while (pos + 8 <= b.size()) {
    const uint32_t type = read_u32(b, pos), nbytes = read_u32(b, pos + 4);
    const std::string where = "element at byte " + std::to_string(pos);
    if (type != kMatrix && type != kCompressed)
      return where + " has data type " + std::to_string(type) + ", expected a matrix";
    if (pos + 8 + static_cast<std::size_t>(nbytes) > b.size())
      return where + " claims " + std::to_string(nbytes) + " bytes past the end of the file (truncated)";
    if (type == kMatrix && nbytes > 0) {
      // Sub-elements: array flags (8+8 bytes), dimensions, name.
      const std::size_t end = pos + 8 + nbytes;
      std::size_t p = pos + 8;
      if (p + 16 > end) return where + " is too short for its array flags";
      const uint32_t cls = read_u32(b, p + 8) & 0xffu;
      p += 16;
      if (p + 8 > end) return where + " is too short for its dimensions";
      const uint32_t dtype = read_u32(b, p), dbytes = read_u32(b, p + 4);
      if (dtype != 5 || dbytes % 4 != 0 || dbytes == 0 || p + 8 + dbytes > end)
        return where + " has corrupt dimensions";
      long double numel = 1;
      for (uint32_t i = 0; i < dbytes / 4; ++i) numel *= read_u32(b, p + 8 + 4 * i);
      // Numeric and char classes (4, 6..15; not sparse) cannot hold more elements than bytes.
      if (cls >= 4 && cls != 5 && cls <= 15 && numel > static_cast<long double>(nbytes))
        return where + " claims more elements than it holds (corrupt dimensions)";
      p += 8 + ((dbytes + 7) / 8) * 8;
      if (p + 8 > end) return where + " is too short for its name";
      const uint32_t ntag = read_u32(b, p);
      const uint32_t nlen = (ntag >> 16) ? (ntag >> 16) : read_u32(b, p + 4);
      if ((ntag >> 16) ? nlen > 4 : p + 8 + static_cast<std::size_t>(nlen) > end)
        return where + " has a corrupt variable name";
    }
    pos += 8 + static_cast<std::size_t>(nbytes);
  }
  return "";
}

}  // namespace

void quiet_matio() {
  static std::once_flag once;
  std::call_once(once, [] { Mat_LogInitFunc("dkd", silent_log); });
}

std::string MatArray::shape() const {
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s;
}

// ---------------------------------------------------------------- reader

MatReader::MatReader(const std::string& path) : path_(path) {
  quiet_matio();
  {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw DataError(path, "cannot open file (missing or unreadable)");
    char header[128];
    f.read(header, sizeof(header));
    if (f.gcount() < static_cast<std::streamsize>(sizeof(header)))
      throw DataError(path, "not a MAT file (shorter than the 128-byte MAT header)");
    if (std::strncmp(header, "MATLAB", 6) != 0) throw DataError(path, "not a MAT file (no 'MATLAB' header text)");
    f.seekg(0, std::ios::end);
    file_size_ = static_cast<std::size_t>(f.tellg());
    const uint16_t version =
        static_cast<uint16_t>(static_cast<unsigned char>(header[124]) | (static_cast<unsigned char>(header[125]) << 8));
    const bool little_endian_v5 = header[126] == 'I' && header[127] == 'M' && version == 0x0100;
    if (little_endian_v5) {
      std::string bytes(file_size_, '\0');
      f.seekg(0);
      f.read(&bytes[0], static_cast<std::streamsize>(file_size_));
      if (f.gcount() != static_cast<std::streamsize>(file_size_)) throw DataError(path, "read error");
      const std::string problem = check_level5_structure(bytes);
      if (!problem.empty()) throw DataError(path, "corrupt MAT file: " + problem);
    }
  }
  mat_ = Mat_Open(path.c_str(), MAT_ACC_RDONLY);
  if (!mat_) throw DataError(path, "not a readable MAT file (matio cannot open it)");
}

MatReader::~MatReader() {
  if (mat_) Mat_Close(mat_);
}

std::vector<std::string> MatReader::variables() {
  std::vector<std::string> names;
  Mat_Rewind(mat_);
  while (true) {
    std::unique_ptr<matvar_t, VarDeleter> v(Mat_VarReadNextInfo(mat_));
    if (!v) break;
    if (v->name) names.emplace_back(v->name);
  }
  Mat_Rewind(mat_);
  return names;
}

bool MatReader::has(const std::string& name) {
  Mat_Rewind(mat_);
  std::unique_ptr<matvar_t, VarDeleter> v(Mat_VarReadInfo(mat_, name.c_str()));
  Mat_Rewind(mat_);
  return v != nullptr;
}

MatArray MatReader::numeric(const std::string& name) {
  Mat_Rewind(mat_);
  std::unique_ptr<matvar_t, VarDeleter> info(Mat_VarReadInfo(mat_, name.c_str()));
  if (!info) {
    Mat_Rewind(mat_);
    throw DataError(path_, "missing variable '" + name + "' (or the file is truncated/corrupt)");
  }
  const matio_classes cls = info->class_type;
  const bool numeric_class = cls == MAT_C_DOUBLE || cls == MAT_C_SINGLE || cls == MAT_C_INT8 || cls == MAT_C_UINT8 ||
                             cls == MAT_C_INT16 || cls == MAT_C_UINT16 || cls == MAT_C_INT32 || cls == MAT_C_UINT32 ||
                             cls == MAT_C_INT64 || cls == MAT_C_UINT64;
  if (!numeric_class)
    throw DataError(
        path_, "variable '" + name + "' has class " + class_name_of(cls) + ", expected a numeric or logical array");
  if (info->isComplex) throw DataError(path_, "variable '" + name + "' is complex, expected real values");
  check_plausible_size(info.get(), name);
  Mat_Rewind(mat_);
  std::unique_ptr<matvar_t, VarDeleter> v(Mat_VarRead(mat_, name.c_str()));
  Mat_Rewind(mat_);
  if (!v) throw DataError(path_, "cannot read variable '" + name + "' (truncated or corrupt data)");
  const std::size_t n = numel_of(v.get());
  MatArray out;
  out.name = name;
  out.class_name = info->isLogical ? "logical" : class_name_of(cls);
  out.logical = v->isLogical != 0;
  for (int i = 0; i < v->rank; ++i) out.dims.push_back(v->dims[i]);
  while (out.dims.size() < 2) out.dims.push_back(1);
  if (n == 0) return out;
  if (!v->data) throw DataError(path_, "cannot read the data of variable '" + name + "' (truncated or corrupt data)");
  if (v->nbytes < n * std::max<std::size_t>(1, v->data_size) || v->data_size == 0)
    throw DataError(path_, "variable '" + name + "' holds fewer bytes than its " + dims_string(v.get()) +
                               " shape needs (truncated or corrupt)");
  if (!to_doubles(v.get(), n, out.data))
    throw DataError(path_, "variable '" + name + "' has an unsupported storage type");
  return out;
}

void MatReader::check_plausible_size(const matvar_t* info, const std::string& name) {
  // A corrupt header can claim a huge shape; refuse what the file cannot hold
  // (zlib expands at most ~1032:1) before matio allocates it.
  long double numel = 1;
  for (int i = 0; i < info->rank; ++i) numel *= static_cast<long double>(info->dims[i]);
  const long double limit =
      static_cast<long double>(file_size_) * (info->compression == MAT_COMPRESSION_ZLIB ? 1100.0L : 1.0L);
  if (info->rank < 0 || numel > limit)
    throw DataError(path_, "variable '" + name + "' claims a " + dims_string(info) +
                               " shape that the file cannot hold (truncated or corrupt)");
}

std::string MatReader::text(const std::string& name) {
  Mat_Rewind(mat_);
  {
    std::unique_ptr<matvar_t, VarDeleter> info(Mat_VarReadInfo(mat_, name.c_str()));
    if (!info) {
      Mat_Rewind(mat_);
      throw DataError(path_, "missing variable '" + name + "' (or the file is truncated/corrupt)");
    }
    if (info->class_type != MAT_C_CHAR)
      throw DataError(path_,
                      "variable '" + name + "' has class " + class_name_of(info->class_type) + ", expected char");
    check_plausible_size(info.get(), name);
  }
  Mat_Rewind(mat_);
  std::unique_ptr<matvar_t, VarDeleter> v(Mat_VarRead(mat_, name.c_str()));
  Mat_Rewind(mat_);
  if (!v) {
    if (has(name)) throw DataError(path_, "cannot read variable '" + name + "' (truncated or corrupt data)");
    throw DataError(path_, "missing variable '" + name + "' (or the file is truncated/corrupt)");
  }
  if (v->class_type != MAT_C_CHAR)
    throw DataError(path_, "variable '" + name + "' has class " + class_name_of(v->class_type) + ", expected char");
  const std::size_t n = numel_of(v.get());
  std::string out;
  if (n == 0) return out;
  const std::size_t width = v->data_size;
  if (!v->data || (width != 1 && width != 2 && width != 4) || v->nbytes < n * width)
    throw DataError(
        path_, "char variable '" + name + "' has unreadable data (" + std::to_string(width) + " bytes per character)");
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    uint32_t c = 0;
    if (width == 1)
      c = static_cast<const uint8_t*>(v->data)[i];
    else if (width == 2)
      c = static_cast<const uint16_t*>(v->data)[i];
    else
      c = static_cast<const uint32_t*>(v->data)[i];
    out.push_back(c < 128 ? static_cast<char>(c) : '?');
  }
  // A char matrix of one row is the usual case; drop trailing padding.
  while (!out.empty() && (out.back() == ' ' || out.back() == '\0')) out.pop_back();
  return out;
}

double MatReader::scalar(const std::string& name) {
  MatArray a = numeric(name);
  if (a.numel() != 1)
    throw DataError(path_, "variable '" + name + "' has " + std::to_string(a.numel()) + " elements, expected 1");
  return a.data[0];
}

// ---------------------------------------------------------------- writer

MatWriter::MatWriter(const std::string& path, bool compress)
    : path_(path), tmp_(atomic_temp_path(path)), compress_(compress), exceptions_at_start_(std::uncaught_exceptions()) {
  quiet_matio();
  std::remove(tmp_.c_str());
  // A fixed header text: matio's default embeds the creation time, which would
  // make identical data sets differ byte for byte (the synthetic generator
  // promises identical files for identical seeds).
  mat_ = Mat_CreateVer(tmp_.c_str(), "MATLAB 5.0 MAT-file, Platform: GLNXA64, Created by: dkd", MAT_FT_MAT5);
  if (!mat_) throw DataError(path, "cannot create MAT file (" + free_space_text(path) + ")");
}

MatWriter::~MatWriter() {
  if (!mat_) return;
  if (std::uncaught_exceptions() > exceptions_at_start_) {
    Mat_Close(mat_);
    std::remove(tmp_.c_str());
    return;
  }
  try {
    close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
  }
}

void MatWriter::close() {
  if (!mat_) return;
  const int rc = Mat_Close(mat_);
  mat_ = nullptr;
  // matio does not check every write: the file must read back whole.
  int readable = 0;
  if (rc == 0) {
    if (mat_t* check = Mat_Open(tmp_.c_str(), MAT_ACC_RDONLY)) {
      while (matvar_t* v = Mat_VarReadNext(check)) {
        ++readable;
        Mat_VarFree(v);
      }
      Mat_Close(check);
    }
  }
  if (rc != 0 || readable != variables_) {
    std::remove(tmp_.c_str());
    throw DataError(path_, "cannot write the MAT file: " + std::to_string(readable) + " of " +
                               std::to_string(variables_) + " variables read back (" + free_space_text(path_) +
                               "); the partial file was removed");
  }
  commit_file_atomic(tmp_, path_);
}

namespace {

/// DataError unless `dims` hold `size` values.
void check_numel(const std::string& path, const std::string& name, const std::vector<std::size_t>& dims,
                 std::size_t size) {
  std::size_t n = 1;
  for (auto d : dims) n *= d;
  if (n != size) throw DataError(path, "variable '" + name + "': data size does not match its dims");
}

/// Writes `values` as variable `name` of class `cls` with elements stored as T
/// (matio type `type`), through a copy (matio takes a mutable buffer).
template <class T, class Values>
void write_var(_mat_t* mat, const std::string& path, const std::string& name, matio_classes cls, matio_types type,
               const std::vector<std::size_t>& dims, const Values& values, bool logical, bool compress) {
  if (!mat) throw DataError(path, "MAT file already closed");
  std::vector<T> data(values.begin(), values.end());
  std::vector<std::size_t> d = dims;
  while (d.size() < 2) d.push_back(1);
  std::unique_ptr<matvar_t, VarDeleter> v(Mat_VarCreate(name.c_str(), cls, type, static_cast<int>(d.size()), d.data(),
                                                        data.data(),
                                                        MAT_F_DONT_COPY_DATA | (logical ? MAT_F_LOGICAL : 0)));
  if (!v) throw DataError(path, "cannot create variable '" + name + "'");
  int rc = Mat_VarWrite(mat, v.get(), compress ? MAT_COMPRESSION_ZLIB : MAT_COMPRESSION_NONE);
  v->data = nullptr;  // not owned (MAT_F_DONT_COPY_DATA)
  if (rc != 0) throw DataError(path, "cannot write variable '" + name + "'");
}

}  // namespace

void MatWriter::write_numeric(const std::string& name, const std::vector<std::size_t>& dims,
                              const std::vector<double>& data, MatStorage storage) {
  check_numel(path_, name, dims, data.size());
  double hi = 0.0;
  bool integral = true;
  for (double x : data) {
    if (!(x >= 0.0) || x != std::floor(x) || x > 65535.0) {
      integral = false;
      break;
    }
    hi = std::max(hi, x);
  }
  if (storage == MatStorage::kDouble || !integral) {
    write_var<double>(mat_, path_, name, MAT_C_DOUBLE, MAT_T_DOUBLE, dims, data, false, compress_);
    ++variables_;
    return;
  }
  const bool use8 = hi <= 255.0;
  const matio_classes cls = storage == MatStorage::kPacked ? MAT_C_DOUBLE : (use8 ? MAT_C_UINT8 : MAT_C_UINT16);
  if (use8) {
    // kPacked: a double-class variable whose data element type is uint8 (as MATLAB packs).
    write_var<uint8_t>(mat_, path_, name, cls, MAT_T_UINT8, dims, data, false, compress_);
  } else {
    write_var<uint16_t>(mat_, path_, name, cls, MAT_T_UINT16, dims, data, false, compress_);
  }
  ++variables_;
}

void MatWriter::write_uint8(const std::string& name, const std::vector<std::size_t>& dims,
                            const std::vector<unsigned char>& data, bool logical) {
  check_numel(path_, name, dims, data.size());
  write_var<unsigned char>(mat_, path_, name, MAT_C_UINT8, MAT_T_UINT8, dims, data, logical, compress_);
  ++variables_;
}

void MatWriter::write_text(const std::string& name, const std::string& text, bool two_byte) {
  std::vector<std::size_t> dims = {1, text.size()};
  if (two_byte)
    write_var<uint16_t>(mat_, path_, name, MAT_C_CHAR, MAT_T_UINT16, dims, text, false, compress_);
  else
    write_var<char>(mat_, path_, name, MAT_C_CHAR, MAT_T_UINT8, dims, text, false, compress_);
  ++variables_;
}

}  // namespace dkd
