#pragma once
// Hostile files for robustness tests, written byte by byte so each test knows
// exactly what the reader is given.
#include <cstdint>
#include <fstream>
#include <string>

namespace dkd::test {

inline uint32_t png_crc(const std::string& bytes) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : bytes) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return c ^ 0xffffffffu;
}

inline void put_be32(std::string& s, uint32_t v) {
  for (int k = 3; k >= 0; --k) s += static_cast<char>((v >> (8 * k)) & 0xff);
}

/// A PNG (valid signature and IHDR with correct CRC, then IEND) whose header
/// claims `width` x `height` RGB pixels: OpenCV refuses sizes over
/// CV_IO_MAX_IMAGE_PIXELS by throwing cv::Exception from cv::imread.
inline void write_png_claiming(const std::string& path, uint32_t width, uint32_t height) {
  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr = "IHDR";
  put_be32(ihdr, width);
  put_be32(ihdr, height);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8 bit, RGB, deflate, no filter, no interlace
  put_be32(png, 13);
  png += ihdr;
  put_be32(png, png_crc(ihdr));
  // libpng reads the header up to the first IDAT chunk: give it one (an empty zlib stream).
  const std::string idat = std::string("IDAT") + std::string("\x78\x9c\x03\x00\x00\x00\x00\x01", 8);
  put_be32(png, 8);
  png += idat;
  put_be32(png, png_crc(idat));
  put_be32(png, 0);
  png += "IEND";
  put_be32(png, png_crc("IEND"));
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(png.data(), static_cast<std::streamsize>(png.size()));
}

}  // namespace dkd::test
