// C++ error types -> Python exceptions. DataError and ConfigError are ValueErrors (bad input);
// TrainingError is a RuntimeError.
#include "bindings.h"
#include "greymatter/errors.h"

namespace greymatter::bindings {

void bind_errors(py::module_& m) {
  py::register_exception<DataError>(m, "DataError", PyExc_ValueError).attr("__doc__") =
      "Unreadable, corrupt or missing data (a ValueError); the message names the file.";
  py::register_exception<ConfigError>(m, "ConfigError", PyExc_ValueError).attr("__doc__") =
      "A bad argument (a ValueError); the message names it and the accepted values.";
  py::register_exception<TrainingError>(m, "TrainingError", PyExc_RuntimeError).attr("__doc__") =
      "Training went wrong (a RuntimeError), e.g. a NaN/inf loss with non_finite='raise'.";
}

}  // namespace greymatter::bindings
