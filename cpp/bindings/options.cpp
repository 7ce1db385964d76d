// Equality and repr shared by every bound options struct (bind_options in bindings.h).
#include "bindings.h"

namespace greymatter::bindings {

py::list option_fields(const py::object& self) {
  py::list names;
  py::object type = py::type::of(self);
  py::object property = py::module_::import("builtins").attr("property");
  for (auto name : py::module_::import("builtins").attr("dir")(type)) {
    const auto text = name.cast<std::string>();
    if (text.rfind("_", 0) != 0 && py::isinstance(type.attr(name), property)) names.append(name);
  }
  return names;
}

bool options_equal(const py::object& self, const py::object& other) {
  if (!py::type::of(self).is(py::type::of(other))) return false;
  for (auto name : option_fields(self))
    if (!self.attr(name).equal(other.attr(name))) return false;
  return true;
}

std::string options_repr(const py::object& self) {
  std::string out = py::type::of(self).attr("__name__").cast<std::string>() + "(";
  bool first = true;
  for (auto name : option_fields(self)) {
    out += (first ? "" : ", ") + name.cast<std::string>() + "=" +
           py::repr(self.attr(name)).cast<std::string>();
    first = false;
  }
  return out + ")";
}

}  // namespace greymatter::bindings
