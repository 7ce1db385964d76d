// C++ error types -> Python exceptions. DataError and ConfigError are ValueErrors (bad input);
// TrainingError is a RuntimeError.
#include "bindings.h"
#include "greymatter/errors.h"

namespace greymatter::bindings {

void bind_errors(py::module_& m) {
  py::register_exception<DataError>(m, "DataError", PyExc_ValueError);
  py::register_exception<ConfigError>(m, "ConfigError", PyExc_ValueError);
  py::register_exception<TrainingError>(m, "TrainingError", PyExc_RuntimeError);
}

}  // namespace greymatter::bindings
