#include "dkd/util/runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "dkd/config/config.h"
#include "dkd/util/blas.h"
#include "dkd/util/error.h"

namespace fs = std::filesystem;

namespace dkd {

c10::Device resolve_device(const std::string& device) {
  if (device == "cpu") return c10::Device(c10::kCPU);
  if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available())
      throw ConfigError("runtime.device: '" + device +
                        "' requested but CUDA is not available (this LibTorch build or machine has no GPU); "
                        "use runtime.device=cpu");
    int index = 0;
    if (device.size() > 5) {
      const std::string idx = device.substr(5);
      char* end = nullptr;
      const long parsed = std::strtol(idx.c_str(), &end, 10);
      if (idx.empty() || *end != '\0' || parsed < 0)
        throw ConfigError("runtime.device: expected cuda:N with N a device index, got '" + device + "'");
      index = static_cast<int>(parsed);
    }
    const auto count = static_cast<int>(torch::cuda::device_count());
    if (index >= count)
      throw ConfigError("runtime.device: '" + device + "' requested but only " + std::to_string(count) +
                        " CUDA device(s) exist");
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw ConfigError("runtime.device: expected cpu, cuda or cuda:N, got '" + device + "'");
}

c10::Device apply_runtime(const RuntimeConfig& runtime, int rank) {
  const c10::Device device = resolve_device(runtime.device);
  int threads = runtime.threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  const uint64_t seed = static_cast<uint64_t>(runtime.seed) + static_cast<uint64_t>(rank);
  torch::manual_seed(seed);
  if (device.is_cuda()) torch::cuda::manual_seed_all(seed);
  auto& ctx = at::globalContext();
  ctx.setDeterministicAlgorithms(runtime.deterministic, /*warn_only=*/true);
  ctx.setDeterministicCuDNN(runtime.deterministic);
  ctx.setBenchmarkCuDNN(!runtime.deterministic);
  // Once per process: which BLAS does the matrix products (a warning with the fix for the reference one).
  if (!device.is_cuda()) log_blas_once();
  return device;
}

int current_threads() { return at::get_num_threads(); }

void ensure_writable_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw Error("cannot create directory " + dir + (ec ? ": " + ec.message() : ""));
  if (access(dir.c_str(), W_OK) != 0) throw Error("directory is not writable: " + dir);
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error("cannot write " + tmp);
    f << contents;
    f.flush();
    if (!f) throw Error("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("cannot write " + path);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path, "cannot open file");
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw DataError(path, "read error");
  return s.str();
}

}  // namespace dkd
