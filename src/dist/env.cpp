#include "dkd/dist/env.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <optional>
#include <thread>

#include "dkd/util/error.h"

namespace dkd {
namespace {

std::optional<std::string> get(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

int parse_int(const char* name, const std::string& value, long lo, long hi) {
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(value.c_str(), &end, 10);
  if (errno != 0 || end == value.c_str() || *end != '\0')
    throw ConfigError(std::string("environment variable ") + name + "=" + value + " is not an integer");
  if (v < lo || v > hi)
    throw ConfigError(std::string("environment variable ") + name + "=" + value + " is out of range [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return static_cast<int>(v);
}

}  // namespace

std::string DistEnv::describe() const {
  return "rank " + std::to_string(rank) + "/" + std::to_string(world_size) + " (local " + std::to_string(local_rank) +
         ") at " + master_addr + ":" + std::to_string(master_port);
}

DistEnv dist_env_from_environment() {
  DistEnv env;
  auto rank = get("RANK");
  auto world = get("WORLD_SIZE");
  auto local = get("LOCAL_RANK");
  auto addr = get("MASTER_ADDR");
  auto port = get("MASTER_PORT");
  if (!rank && !world) {
    if (local) env.local_rank = parse_int("LOCAL_RANK", *local, 0, 0);
    return env;  // single process
  }
  if (!world) throw ConfigError("environment variable RANK is set but WORLD_SIZE is not");
  if (!rank) throw ConfigError("environment variable WORLD_SIZE is set but RANK is not");
  env.world_size = parse_int("WORLD_SIZE", *world, 1, 1 << 20);
  env.rank = parse_int("RANK", *rank, 0, 1 << 20);
  if (env.rank >= env.world_size)
    throw ConfigError("environment variable RANK=" + *rank + " is not below WORLD_SIZE=" + *world);
  env.local_rank = local ? parse_int("LOCAL_RANK", *local, 0, env.world_size - 1) : env.rank;
  env.local_world_size = env.world_size;
  if (auto lws = get("LOCAL_WORLD_SIZE")) env.local_world_size = parse_int("LOCAL_WORLD_SIZE", *lws, 1, env.world_size);
  if (env.local_rank >= env.local_world_size)
    throw ConfigError("environment variable LOCAL_RANK=" + std::to_string(env.local_rank) +
                      " is not below LOCAL_WORLD_SIZE=" + std::to_string(env.local_world_size));
  if (env.world_size > 1) {
    if (!addr)
      throw ConfigError("environment variable MASTER_ADDR is not set (WORLD_SIZE=" + *world +
                        "); torchrun and dkd_train --nproc set it");
    if (!port)
      throw ConfigError("environment variable MASTER_PORT is not set (WORLD_SIZE=" + *world +
                        "); torchrun and dkd_train --nproc set it");
  }
  if (addr) env.master_addr = *addr;
  if (port) env.master_port = parse_int("MASTER_PORT", *port, 1, 65535);
  auto agent = get("TORCHELASTIC_USE_AGENT_STORE");
  env.use_agent_store = agent && (*agent == "True" || *agent == "true" || *agent == "1");
  if (auto restarts = get("TORCHELASTIC_RESTART_COUNT"))
    env.restart_count = parse_int("TORCHELASTIC_RESTART_COUNT", *restarts, 0, 1 << 20);
  return env;
}

int threads_per_rank(int configured, const DistEnv& env) {
  if (configured > 0) return configured;
  const unsigned cores = std::thread::hardware_concurrency();
  const int local = std::max(1, env.local_world_size);
  return std::max(1, static_cast<int>(cores == 0 ? 1 : cores) / local);
}

int find_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("find_free_port: socket(): ") + std::strerror(errno));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int e = errno;
    ::close(fd);
    throw Error(std::string("find_free_port: bind(127.0.0.1:0): ") + std::strerror(e));
  }
  socklen_t len = sizeof sa;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    int e = errno;
    ::close(fd);
    throw Error(std::string("find_free_port: getsockname(): ") + std::strerror(e));
  }
  ::close(fd);
  return ntohs(sa.sin_port);
}

}  // namespace dkd
