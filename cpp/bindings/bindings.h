// Each bind_*.cpp registers one concept on the `_core` module; module.cpp calls them in order.
#pragma once

#include <torch/python.h>

namespace greymatter::bindings {

namespace py = pybind11;

void bind_errors(py::module_& m);
void bind_data(py::module_& m);
void bind_models(py::module_& m);
void bind_train(py::module_& m);

}  // namespace greymatter::bindings
