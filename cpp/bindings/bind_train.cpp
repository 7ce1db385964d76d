// Training: the Engine runs whole epochs with the GIL released. The progress callback re-takes the
// GIL every N batches, checks for Ctrl-C and calls the Python function; a Python exception there
// stops the epoch after the current batch and is re-raised once the loop has unwound.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "greymatter/errors.h"
#include "greymatter/train/engine.h"

namespace greymatter::bindings {

using namespace greymatter::train;
using greymatter::data::Loader;

namespace {

std::shared_ptr<models::ModelImpl> as_model(const py::object& model) {
  py::object cpp = py::hasattr(model, "cpp_module") ? model.attr("cpp_module") : model;
  auto module = cpp.cast<std::shared_ptr<torch::nn::Module>>();
  auto typed = std::dynamic_pointer_cast<models::ModelImpl>(module);
  if (!typed) throw ConfigError("the Engine trains greymatter models only, got " + module->name());
  return typed;
}

// Runs `loop` without the GIL; `callback(done, total)` runs with it. Python errors raised by the
// callback (KeyboardInterrupt included) are held while C++ unwinds, then restored.
template <typename Loop>
EpochStats run_with_progress(Loop loop, const py::object& callback) {
  py::object error_type, error_value, error_trace;
  ProgressFn progress = [&](int64_t done, int64_t total) -> bool {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() == 0 && !callback.is_none()) {
      try {
        py::object keep_going = callback(done, total);
        return keep_going.is_none() || keep_going.cast<bool>();
      } catch (py::error_already_set& e) {
        e.restore();
      }
    }
    if (!PyErr_Occurred()) return true;
    PyObject *type, *value, *trace;
    PyErr_Fetch(&type, &value, &trace);
    error_type = py::reinterpret_steal<py::object>(type);
    error_value = py::reinterpret_steal<py::object>(value);
    error_trace = py::reinterpret_steal<py::object>(trace);
    return false;
  };
  EpochStats stats;
  {
    py::gil_scoped_release release;
    stats = loop(progress);
  }
  if (error_type) {
    PyErr_Restore(error_type.release().ptr(), error_value.release().ptr(), error_trace.release().ptr());
    throw py::error_already_set();
  }
  return stats;
}

}  // namespace

void bind_train(py::module_& m) {
  py::class_<EpochStats>(m, "EpochStats")
      .def_readonly("loss", &EpochStats::loss)
      .def_readonly("accuracy", &EpochStats::accuracy)
      .def_readonly("samples", &EpochStats::samples)
      .def_readonly("batches", &EpochStats::batches)
      .def_readonly("interrupted", &EpochStats::interrupted)
      .def("__repr__", [](const EpochStats& s) {
        return "EpochStats(loss=" + std::to_string(s.loss) + ", accuracy=" + std::to_string(s.accuracy) +
               ", samples=" + std::to_string(s.samples) + ")";
      });

  py::class_<Engine>(m, "Engine")
      .def(py::init([](const py::object& model, std::string optimizer, double lr, double weight_decay,
                       double momentum, const std::string& device) {
             OptimizerConfig c{std::move(optimizer), lr, weight_decay, momentum};
             return std::make_unique<Engine>(as_model(model), c, torch::Device(device));
           }),
           py::arg("model"), py::arg("optimizer") = "adam", py::arg("lr") = 1e-3, py::arg("weight_decay") = 0.0,
           py::arg("momentum") = 0.0, py::arg("device") = "cpu")
      .def(
          "train_epoch",
          [](Engine& e, const Loader& loader, int64_t epoch, const py::object& progress, int64_t every) {
            return run_with_progress([&](const ProgressFn& p) { return e.train_epoch(loader, epoch, p, every); },
                                     progress);
          },
          py::arg("loader"), py::arg("epoch"), py::arg("progress") = py::none(), py::arg("every") = 50)
      .def(
          "evaluate",
          [](Engine& e, const Loader& loader, const py::object& progress, int64_t every) {
            return run_with_progress([&](const ProgressFn& p) { return e.evaluate(loader, p, every); }, progress);
          },
          py::arg("loader"), py::arg("progress") = py::none(), py::arg("every") = 50)
      .def_property("lr", &Engine::lr, &Engine::set_lr);
}

}  // namespace greymatter::bindings
