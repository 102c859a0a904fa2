#pragma once
// Integrity check of a zip archive (PyTorch's checkpoint and torch.save
// format) before LibTorch reads it. Debian's LibTorch 1.13 does not verify the
// CRC-32 of the records it extracts, and a damaged record (a flipped byte in
// the TorchScript code of a checkpoint) can crash its parser; a truncated file
// has no central directory. This reads the central directory and every record
// itself, with every offset and size bounds-checked.
#include <string>

namespace dkd {

/// Throws std::runtime_error naming the problem (truncated, corrupt directory,
/// a record whose CRC-32 does not match, an unsupported compression method)
/// unless every record of the zip archive at `path` is intact.
void verify_zip_archive(const std::string& path);

}  // namespace dkd
