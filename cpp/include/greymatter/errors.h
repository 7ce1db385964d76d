// The two error types every greymatter component throws. Bindings map them to Python's
// greymatter.DataError / greymatter.ConfigError (both ValueError subclasses). Never exit or
// assert on user input: a Jupyter kernel must survive every bad argument or file.
#pragma once

#include <stdexcept>
#include <string>

namespace greymatter {

// Unreadable or corrupt input data; the message names the file.
class DataError : public std::runtime_error {
 public:
  explicit DataError(const std::string& what) : std::runtime_error(what) {}
};

// A bad argument or an unsupported combination of options; the message names the argument.
class ConfigError : public std::invalid_argument {
 public:
  explicit ConfigError(const std::string& what) : std::invalid_argument(what) {}
};

// Training cannot go on (a NaN/inf loss, a model that does not fit the data); names epoch and
// batch.
class TrainingError : public std::runtime_error {
 public:
  explicit TrainingError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace greymatter
