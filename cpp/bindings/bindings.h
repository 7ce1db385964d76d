// Each bind_*.cpp registers one concept on the `_core` module; module.cpp calls them in order.
// Options cross as the core's own structs and enums (bind_options, py::enum_), so Python builds
// typed values and nothing here parses strings.
#pragma once

#include <torch/python.h>

#include <string>

namespace greymatter::bindings {

namespace py = pybind11;

void bind_errors(py::module_& m);
void bind_data(py::module_& m);
void bind_models(py::module_& m);
void bind_train(py::module_& m);

// The names of an options class's fields: its properties (what def_readwrite makes).
py::list option_fields(const py::object& self);
// ==, != and repr over option_fields, for bind_options.
bool options_equal(const py::object& self, const py::object& other);
std::string options_repr(const py::object& self);

// Binds an options struct. The caller adds its fields with def_readwrite; then
// `Options(field=value, ...)` starts from the C++ defaults and sets the fields named (an unknown
// name is an AttributeError), and ==, != and repr go over those fields.
template <typename Options>
py::class_<Options> bind_options(py::module_& m, const char* name, const char* doc) {
  py::class_<Options> cls(m, name, doc);
  cls.def(py::init([](const py::kwargs& fields) {
    Options options;
    py::object view = py::cast(&options, py::return_value_policy::reference);
    for (auto item : fields) py::setattr(view, item.first, item.second);
    return options;
  }));
  cls.def("__eq__", &options_equal, py::arg("other"));
  cls.def(
      "__ne__",
      [](const py::object& self, const py::object& other) { return !options_equal(self, other); },
      py::arg("other"));
  cls.def("__repr__", &options_repr);
  return cls;
}

}  // namespace greymatter::bindings
