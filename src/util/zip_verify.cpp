#include "dkd/util/zip_verify.h"

#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace dkd {

namespace {

uint64_t le(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int k = 0; k < n; ++k) v |= static_cast<uint64_t>(p[k]) << (8 * k);
  return v;
}

class File {
 public:
  explicit File(const std::string& path) : in_(path, std::ios::binary) {
    if (!in_) throw std::runtime_error("cannot open the file");
    in_.seekg(0, std::ios::end);
    size_ = static_cast<uint64_t>(in_.tellg());
  }
  uint64_t size() const { return size_; }
  /// Exactly `n` bytes at `pos`, or an error (never a read past the end).
  std::vector<unsigned char> read(uint64_t pos, uint64_t n, const char* what) {
    if (pos > size_ || n > size_ - pos)
      throw std::runtime_error(std::string(what) + " lies past the end of the file (truncated?)");
    std::vector<unsigned char> buf(static_cast<std::size_t>(n));
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(pos));
    in_.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(n));
    if (static_cast<uint64_t>(in_.gcount()) != n) throw std::runtime_error(std::string("cannot read ") + what);
    return buf;
  }
  /// CRC-32 of `n` bytes at `pos`, read in chunks.
  uint32_t crc(uint64_t pos, uint64_t n) {
    if (pos > size_ || n > size_ - pos) throw std::runtime_error("a record lies past the end of the file (truncated?)");
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(pos));
    std::vector<char> buf(1 << 20);
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
      const auto chunk = static_cast<std::streamsize>(std::min<uint64_t>(n, buf.size()));
      in_.read(buf.data(), chunk);
      if (in_.gcount() != chunk) throw std::runtime_error("cannot read a record");
      c = crc32(c, reinterpret_cast<const Bytef*>(buf.data()), static_cast<uInt>(chunk));
      n -= static_cast<uint64_t>(chunk);
    }
    return static_cast<uint32_t>(c);
  }

  /// CRC-32 of the deflate stream of `n` bytes at `pos` once inflated; it must
  /// inflate to exactly `expected` bytes (TorchScript code records are deflated).
  uint32_t inflate_crc(uint64_t pos, uint64_t n, uint64_t expected, const std::string& name) {
    const auto packed = read(pos, n, "a record");
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw std::runtime_error("zlib: inflateInit2 failed");
    std::vector<unsigned char> out(1 << 16);
    uLong c = crc32(0L, Z_NULL, 0);
    uint64_t total = 0;
    z.next_in = const_cast<Bytef*>(packed.data());
    z.avail_in = static_cast<uInt>(packed.size());
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      rc = inflate(&z, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END) {
        inflateEnd(&z);
        throw std::runtime_error(name + ": damaged record (cannot inflate)");
      }
      const uint64_t got = out.size() - z.avail_out;
      total += got;
      if (total > expected) break;
      c = crc32(c, out.data(), static_cast<uInt>(got));
      if (rc == Z_OK && got == 0 && z.avail_in == 0) break;  // truncated stream
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END || total != expected) throw std::runtime_error(name + ": damaged record (wrong size)");
    return static_cast<uint32_t>(c);
  }

 private:
  std::ifstream in_;
  uint64_t size_ = 0;
};

}  // namespace

void verify_zip_archive(const std::string& path) {
  File f(path);
  const uint64_t size = f.size();
  if (size < 22) throw std::runtime_error("not a zip archive (too short; truncated?)");
  // End of central directory: the last 22 bytes plus a comment of up to 64 KiB.
  const uint64_t tail_len = std::min<uint64_t>(size, 22 + 65535);
  const auto tail = f.read(size - tail_len, tail_len, "the end of the archive");
  int64_t eocd = -1;
  for (int64_t i = static_cast<int64_t>(tail_len) - 22; i >= 0; --i) {
    if (le(&tail[static_cast<std::size_t>(i)], 4) == 0x06054b50u) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw std::runtime_error("not a zip archive, or truncated (no end of central directory)");
  const unsigned char* e = &tail[static_cast<std::size_t>(eocd)];
  uint64_t entries = le(e + 10, 2), dir_size = le(e + 12, 4), dir_offset = le(e + 16, 4);
  const uint64_t eocd_pos = size - tail_len + static_cast<uint64_t>(eocd);
  if (entries == 0xffff || dir_size == 0xffffffffu || dir_offset == 0xffffffffu) {
    // Zip64: a locator just before the end record points at the zip64 end record.
    if (eocd_pos < 20) throw std::runtime_error("corrupt zip64 end of central directory");
    const auto loc = f.read(eocd_pos - 20, 20, "the zip64 locator");
    if (le(loc.data(), 4) != 0x07064b50u) throw std::runtime_error("corrupt zip64 locator");
    const auto rec = f.read(le(loc.data() + 8, 8), 56, "the zip64 end of central directory");
    if (le(rec.data(), 4) != 0x06064b50u) throw std::runtime_error("corrupt zip64 end of central directory");
    entries = le(rec.data() + 32, 8);
    dir_size = le(rec.data() + 40, 8);
    dir_offset = le(rec.data() + 48, 8);
  }
  if (entries == 0) throw std::runtime_error("the zip archive holds no records");
  const auto dir = f.read(dir_offset, dir_size, "the central directory");
  uint64_t p = 0;
  for (uint64_t k = 0; k < entries; ++k) {
    if (p + 46 > dir.size() || le(&dir[p], 4) != 0x02014b50u)
      throw std::runtime_error("corrupt central directory (entry " + std::to_string(k) + ")");
    const unsigned char* c = &dir[p];
    const uint64_t method = le(c + 10, 2), crc = le(c + 16, 4);
    uint64_t csize = le(c + 20, 4), usize = le(c + 24, 4), offset = le(c + 42, 4);
    const uint64_t name_len = le(c + 28, 2), extra_len = le(c + 30, 2), comment_len = le(c + 32, 2);
    if (p + 46 + name_len + extra_len + comment_len > dir.size())
      throw std::runtime_error("corrupt central directory (entry " + std::to_string(k) + ")");
    const std::string name(reinterpret_cast<const char*>(c + 46), static_cast<std::size_t>(name_len));
    // Zip64 sizes and offset, in this order, for the fields that are 0xffffffff.
    for (uint64_t x = 0; x + 4 <= extra_len;) {
      const unsigned char* h = c + 46 + name_len + x;
      const uint64_t id = le(h, 2), len = le(h + 2, 2);
      if (x + 4 + len > extra_len) throw std::runtime_error(name + ": corrupt extra field");
      if (id == 0x0001) {
        uint64_t q = 0;
        auto next = [&](uint64_t& field) {
          if (field != 0xffffffffu) return;
          if (q + 8 > len) throw std::runtime_error(name + ": corrupt zip64 field");
          field = le(h + 4 + q, 8);
          q += 8;
        };
        next(usize);
        next(csize);
        next(offset);
      }
      x += 4 + len;
    }
    if (method != 0 && method != 8)
      throw std::runtime_error(name + ": unsupported compression method " + std::to_string(method));
    if (method == 0 && csize != usize) throw std::runtime_error(name + ": corrupt record sizes");
    const auto local = f.read(offset, 30, "a record header");
    if (le(local.data(), 4) != 0x04034b50u) throw std::runtime_error(name + ": corrupt record header");
    const uint64_t data = offset + 30 + le(local.data() + 26, 2) + le(local.data() + 28, 2);
    const uint32_t actual = method == 0 ? f.crc(data, csize) : f.inflate_crc(data, csize, usize, name);
    if (actual != crc) throw std::runtime_error(name + ": damaged record (CRC-32 mismatch)");
    p += 46 + name_len + extra_len + comment_len;
  }
}

}  // namespace dkd
