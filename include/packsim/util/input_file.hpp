#pragma once
// Reading an input file (TOML, DBC, CSV) whole. Only a regular file, and not an absurdly large
// one: a path that names a directory, /dev/zero or a FIFO must be a clear error, never an empty
// read, a hang or memory exhausted. Header-only, shared by the loaders of every library.

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

namespace packsim {

inline constexpr std::uintmax_t kMaxInputFileBytes = std::uintmax_t{256} << 20;

// exists() that never throws: a name too long for the file system is simply not there.
inline bool input_exists(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

// Why `path` cannot be read as an input file, or "" when it can (the same checks as below, for
// loaders that report the problem at the key that named the file).
inline std::string input_file_problem(const std::filesystem::path& path,
                                      std::uintmax_t max_bytes = kMaxInputFileBytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) return "no such file";
  if (std::filesystem::is_directory(status)) return "is a directory; expected a file";
  if (!std::filesystem::is_regular_file(status))
    return "is not a regular file (a device, FIFO or socket); expected a file";
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return "cannot read its size: " + ec.message();
  if (size > max_bytes) {
    return "is " + std::to_string(size >> 20) + " MiB; expected at most " +
           std::to_string(max_bytes >> 20) + " MiB";
  }
  return {};
}

// Reads `path` into `text`. On failure returns false and says why in `problem` ("no such file",
// "is a directory", ...), to follow "file: ".
inline bool read_input_file(const std::filesystem::path& path, std::string& text,
                            std::string& problem, std::uintmax_t max_bytes = kMaxInputFileBytes) {
  problem = input_file_problem(path, max_bytes);
  if (!problem.empty()) return false;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problem = std::string("cannot open: ") + std::strerror(errno);
    return false;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  text = buf.str();
  return true;
}

}  // namespace packsim
