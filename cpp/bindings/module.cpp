// greymatter._core: the compiled half of the package. Python code imports it through
// greymatter/*.py.
#include "bindings.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "greymatter's C++ core: data pipeline, models and training engine";
  greymatter::bindings::bind_errors(m);
  greymatter::bindings::bind_data(m);
  greymatter::bindings::bind_models(m);
  greymatter::bindings::bind_train(m);
}
