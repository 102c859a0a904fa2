#pragma once
// Exception types shared by the library and the tools. Every message names the
// file, key or value that caused it; each tool's main maps them to exit codes:
// UsageError (bad flags, bad config) -> 2, any other error -> 1.
#include <stdexcept>
#include <string>

namespace dkd {

/// A runtime failure (bad data, I/O, numerical problem). Tools exit with 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The user asked for something invalid (flags, config keys, values). Exit 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

/// A config file or --set override is invalid. Exit 2.
class ConfigError : public UsageError {
 public:
  using UsageError::UsageError;
};

/// A data set file is missing, corrupt or inconsistent. Exit 1.
class DataError : public Error {
 public:
  DataError(const std::string& file, const std::string& problem)
      : Error(file + ": " + problem), file_(file), problem_(problem) {}
  const std::string& file() const { return file_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string file_;
  std::string problem_;
};

}  // namespace dkd
