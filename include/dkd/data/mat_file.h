#pragma once
// Thin RAII wrapper over matio for MATLAB level-5 files (compressed or not).
//
// Reading: every numeric class (double, single, int*, uint*, logical) is
// returned as doubles; char data of 1, 2 or 4 bytes per character as a string.
// Every failure (not a MAT file, truncated or corrupt data, missing variable,
// wrong class) is a DataError naming the file and the problem; matio's own log
// output is silenced.
//
// Writing: numeric arrays with a chosen on-disk class / storage type, so tests
// and the synthetic generator can reproduce the quirks of the published files.
// matio is column-major: element (i, j) of an r x c array is data[i + r * j].
#include <cstddef>
#include <string>
#include <vector>

struct _mat_t;
struct matvar_t;

namespace dkd {

/// A numeric MAT variable converted to doubles (column-major).
struct MatArray {
  std::string name;
  std::vector<std::size_t> dims;  ///< MATLAB dims (at least 2)
  std::vector<double> data;       ///< column-major, numel() values
  bool logical = false;           ///< stored with the logical flag
  std::string class_name;         ///< "double", "uint8", ... as stored

  std::size_t numel() const { return data.size(); }
  std::size_t rows() const { return dims.empty() ? 0 : dims[0]; }
  std::size_t cols() const { return dims.size() < 2 ? 1 : dims[1]; }
  /// Size of dimension d (1 beyond the stored rank).
  std::size_t dim(std::size_t d) const { return d < dims.size() ? dims[d] : 1; }
  double at(std::size_t i, std::size_t j) const { return data[i + rows() * j]; }
  double at(std::size_t i, std::size_t j, std::size_t k) const { return data[i + dim(0) * (j + dim(1) * k)]; }
  /// The dims for messages: "2x15x40".
  std::string shape() const;
};

/// Read-only MAT file.
class MatReader {
 public:
  /// Opens `path`; DataError when it is missing or not a level-5/7.3 MAT file.
  explicit MatReader(const std::string& path);
  ~MatReader();
  MatReader(const MatReader&) = delete;
  MatReader& operator=(const MatReader&) = delete;

  const std::string& path() const { return path_; }
  /// Names of the variables in the file (DataError when the file is truncated/corrupt).
  std::vector<std::string> variables();
  bool has(const std::string& name);
  /// Numeric (or logical) variable as doubles; DataError when missing, not numeric, complex or unreadable.
  MatArray numeric(const std::string& name);
  /// Char variable as a string (1, 2 or 4 bytes per character; non-ASCII becomes '?').
  std::string text(const std::string& name);
  /// Numeric variable that must hold exactly one value.
  double scalar(const std::string& name);

 private:
  void check_plausible_size(const matvar_t* info, const std::string& name);

  std::string path_;
  std::size_t file_size_ = 0;
  _mat_t* mat_ = nullptr;
};

/// How a numeric variable is stored on disk.
enum class MatStorage {
  kDouble,       ///< class double, 8-byte data (the normal case)
  kPacked,       ///< class double, data packed to the smallest fitting uint8/uint16 (as MATLAB does)
  kIntegerClass  ///< class uint8/uint16 itself (integer-valued data only)
};

/// Write-only MAT file (level 5), written to a temporary (atomic_temp_path) that
/// close() reads back whole and renames to the path, so a failed write (a full
/// disk) leaves no partial file: a DataError naming the path and the free space.
class MatWriter {
 public:
  /// DataError when the file cannot be created.
  MatWriter(const std::string& path, bool compress = true);
  ~MatWriter();
  MatWriter(const MatWriter&) = delete;
  MatWriter& operator=(const MatWriter&) = delete;

  /// Numeric array with MATLAB dims (column-major data). kPacked / kIntegerClass
  /// fall back to plain double when the values are not integers in [0, 65535].
  void write_numeric(const std::string& name, const std::vector<std::size_t>& dims, const std::vector<double>& data,
                     MatStorage storage = MatStorage::kDouble);
  /// uint8 array; `logical` sets MATLAB's logical flag.
  void write_uint8(const std::string& name, const std::vector<std::size_t>& dims,
                   const std::vector<unsigned char>& data, bool logical);
  /// 1 x n char array; `two_byte` stores UTF-16 code units instead of bytes.
  void write_text(const std::string& name, const std::string& text, bool two_byte = false);
  /// Finishes the file, checks it and gives it its name. The destructor does the
  /// same without throwing (removing the temporary on failure), and only removes
  /// it when an exception is on its way.
  void close();

 private:
  std::string path_;
  std::string tmp_;
  bool compress_;
  _mat_t* mat_ = nullptr;
  int variables_ = 0;
  int exceptions_at_start_ = 0;
};

/// Silences matio's console logging (called by the reader/writer; idempotent).
void quiet_matio();

}  // namespace dkd
