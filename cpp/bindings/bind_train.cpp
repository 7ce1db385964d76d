// Training: the Engine runs whole epochs with the GIL released. The progress callback re-takes the
// GIL every N batches, checks for Ctrl-C and calls the Python function; a Python exception there
// stops the epoch after the current batch and is re-raised once the loop has unwound.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "greymatter/data/feature_source.h"
#include "greymatter/errors.h"
#include "greymatter/models/printout.h"
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
  try {
    py::gil_scoped_release release;
    stats = loop(progress);
  } catch (...) {
    if (!error_type)
      throw;  // a Ctrl-C taken by the callback wins over what the loop threw after it
  }
  if (error_type) {
    PyErr_Restore(error_type.release().ptr(), error_value.release().ptr(),
                  error_trace.release().ptr());
    throw py::error_already_set();
  }
  return stats;
}

// Binds an Engine pass that returns (tensor, labels), e.g. predict or features, with progress and
// Ctrl-C.
template <typename Pass>
auto tensors_pass(Pass pass) {
  return [pass](Engine& e, const Loader& loader, const py::object& progress, int64_t every) {
    Predictions out;
    run_with_progress(
        [&](const ProgressFn& p) {
          out = (e.*pass)(loader, p, every);
          return EpochStats{};
        },
        progress);
    return py::make_tuple(out.probabilities, out.labels);
  };
}

// Fills a SchedulerConfig from Python keyword values; an unknown key is a ConfigError naming it.
SchedulerConfig scheduler_config(const std::string& name, const py::dict& options) {
  SchedulerConfig c;
  c.name = name;
  for (auto item : options) {
    const auto key = item.first.cast<std::string>();
    const py::handle v = item.second;
    if (key == "mode")
      c.mode = v.cast<std::string>();
    else if (key == "factor")
      c.factor = v.cast<double>();
    else if (key == "patience")
      c.patience = v.cast<int64_t>();
    else if (key == "threshold")
      c.threshold = v.cast<double>();
    else if (key == "threshold_mode")
      c.threshold_mode = v.cast<std::string>();
    else if (key == "cooldown")
      c.cooldown = v.cast<int64_t>();
    else if (key == "min_lr")
      c.min_lr = v.cast<double>();
    else if (key == "eps")
      c.eps = v.cast<double>();
    else if (key == "step_size")
      c.step_size = v.cast<int64_t>();
    else if (key == "gamma")
      c.gamma = v.cast<double>();
    else if (key == "T_max" || key == "t_max")
      c.t_max = v.cast<int64_t>();
    else if (key == "eta_min")
      c.eta_min = v.cast<double>();
    else if (key == "max_lr")
      c.max_lr = v.cast<double>();
    else if (key == "total_steps")
      c.total_steps = v.cast<int64_t>();
    else if (key == "pct_start")
      c.pct_start = v.cast<double>();
    else if (key == "anneal_strategy")
      c.anneal_strategy = v.cast<std::string>();
    else if (key == "div_factor")
      c.div_factor = v.cast<double>();
    else if (key == "final_div_factor")
      c.final_div_factor = v.cast<double>();
    else if (key == "three_phase")
      c.three_phase = v.cast<bool>();
    else
      throw ConfigError("scheduler '" + name + "' has no option '" + key + "'");
  }
  return c;
}

}  // namespace

void bind_train(py::module_& m) {
  py::class_<EpochStats>(m, "EpochStats")
      .def_readonly("loss", &EpochStats::loss)
      .def_readonly("accuracy", &EpochStats::accuracy)
      .def_readonly("samples", &EpochStats::samples)
      .def_readonly("batches", &EpochStats::batches)
      .def_readonly("skipped", &EpochStats::skipped)
      .def_readonly("interrupted", &EpochStats::interrupted)
      .def("__repr__", [](const EpochStats& s) {
        return "EpochStats(loss=" + std::to_string(s.loss) +
               ", accuracy=" + std::to_string(s.accuracy) +
               ", samples=" + std::to_string(s.samples) + ", skipped=" + std::to_string(s.skipped) +
               ")";
      });

  // Loss and Scheduler are bound for the Trainer's Python-loop fallback (plain torch.nn.Modules),
  // so both paths share one definition of targets, accuracy and learning-rate curves.
  py::class_<Loss>(m, "Loss")
      .def(
          py::init([](std::string name, std::vector<double> class_weights, double label_smoothing) {
            return Loss(LossConfig{std::move(name), std::move(class_weights), label_smoothing});
          }),
          py::arg("name") = "cross_entropy", py::arg("class_weights") = std::vector<double>{},
          py::arg("label_smoothing") = 0.0)
      .def("__call__", &Loss::operator(), py::arg("output"), py::arg("labels"))
      .def("check", &Loss::check, py::arg("output"), py::arg("labels"))
      .def("correct", &Loss::correct, py::arg("output"), py::arg("labels"))
      .def("probabilities", &Loss::probabilities, py::arg("output"))
      .def("output_for", &Loss::output_for, py::arg("probabilities"));

  py::class_<TestTimeAugmentation>(m, "TestTimeAugmentation")
      .def(py::init<std::vector<std::string>, double>(),
           py::arg("augmentations") = std::vector<std::string>{}, py::arg("crop_scale") = 0.875)
      .def_property_readonly("augmentations", &TestTimeAugmentation::augmentations)
      .def_property_readonly("crop_scale", &TestTimeAugmentation::crop_scale)
      .def_property_readonly("num_views", &TestTimeAugmentation::num_views)
      .def("view", &TestTimeAugmentation::view, py::arg("images"), py::arg("i"))
      .def("probabilities", &TestTimeAugmentation::probabilities, py::arg("forward"),
           py::arg("loss"), py::arg("images"))
      .def("__repr__", [](const TestTimeAugmentation& t) {
        std::string names;
        for (const auto& a : t.augmentations()) names += (names.empty() ? "'" : ", '") + a + "'";
        return "TestTimeAugmentation([" + names +
               "], crop_scale=" + models::python_float(t.crop_scale()) + ")";
      });

  py::class_<Scheduler>(m, "Scheduler")
      .def(py::init([](const std::string& name, const py::dict& options, double base_lr) {
             return Scheduler(scheduler_config(name, options), base_lr);
           }),
           py::arg("name"), py::arg("options"), py::arg("base_lr"))
      .def("initial_lr", &Scheduler::initial_lr)
      .def("after_step", &Scheduler::after_step)
      .def("after_epoch", &Scheduler::after_epoch, py::arg("metric"), py::arg("current_lr"))
      .def_property_readonly("per_step", &Scheduler::per_step)
      .def("state", &Scheduler::state)
      .def("load_state", &Scheduler::load_state);

  py::class_<data::FeatureSource, data::Source, std::shared_ptr<data::FeatureSource>>(
      m, "FeatureSource")
      .def(py::init<torch::Tensor, torch::Tensor>(), py::arg("features"), py::arg("labels"))
      .def_property_readonly("features", &data::FeatureSource::features)
      .def_property_readonly("labels", &data::FeatureSource::labels)
      .def("__len__", &data::FeatureSource::size);

  py::class_<Engine>(m, "Engine")
      .def(py::init([](const py::object& model, std::string optimizer, double lr,
                       double weight_decay, double momentum, bool nesterov,
                       std::pair<double, double> betas, double eps, std::string loss,
                       std::vector<double> class_weights, double label_smoothing,
                       int64_t accumulate, std::string non_finite, bool amp,
                       const std::string& device, std::optional<bool> capturable) {
             EngineOptions o;
             o.optimizer.name = std::move(optimizer);
             o.optimizer.lr = lr;
             o.optimizer.weight_decay = weight_decay;
             o.optimizer.momentum = momentum;
             o.optimizer.nesterov = nesterov;
             o.optimizer.beta1 = betas.first;
             o.optimizer.beta2 = betas.second;
             o.optimizer.eps = eps;
             o.loss = LossConfig{std::move(loss), std::move(class_weights), label_smoothing};
             o.accumulate = accumulate;
             o.non_finite = std::move(non_finite);
             o.amp = amp;
             o.capturable = capturable;
             return std::make_unique<Engine>(as_model(model), std::move(o), torch::Device(device));
           }),
           py::arg("model"), py::arg("optimizer") = "adam", py::arg("lr") = 1e-3,
           py::arg("weight_decay") = 0.0, py::arg("momentum") = 0.0, py::arg("nesterov") = false,
           py::arg("betas") = std::pair<double, double>{0.9, 0.999}, py::arg("eps") = 1e-8,
           py::arg("loss") = "cross_entropy", py::arg("class_weights") = std::vector<double>{},
           py::arg("label_smoothing") = 0.0, py::arg("accumulate") = 1,
           py::arg("non_finite") = "raise", py::arg("amp") = true, py::arg("device") = "cpu",
           py::arg("capturable") = py::none())
      .def(
          "train_epoch",
          [](Engine& e, const Loader& loader, int64_t epoch, const py::object& progress,
             int64_t every) {
            return run_with_progress(
                [&](const ProgressFn& p) { return e.train_epoch(loader, epoch, p, every); },
                progress);
          },
          py::arg("loader"), py::arg("epoch"), py::arg("progress") = py::none(),
          py::arg("every") = 50)
      .def(
          "evaluate",
          [](Engine& e, const Loader& loader, const py::object& progress, int64_t every) {
            return run_with_progress(
                [&](const ProgressFn& p) { return e.evaluate(loader, p, every); }, progress);
          },
          py::arg("loader"), py::arg("progress") = py::none(), py::arg("every") = 50)
      .def("predict", tensors_pass(&Engine::predict), py::arg("loader"),
           py::arg("progress") = py::none(), py::arg("every") = 50,
           "(probabilities (N, C) float32, labels (N) int64), in the loader's order")
      .def(
          "features", tensors_pass(&Engine::features), py::arg("loader"),
          py::arg("progress") = py::none(), py::arg("every") = 50,
          "(features (N, D) float32, labels (N) int64) of a frozen backbone, in the loader's order")
      .def_property("head_only", &Engine::head_only, &Engine::set_head_only)
      .def_property("tta", &Engine::tta, &Engine::set_tta)
      .def_property("lr", &Engine::lr, &Engine::set_lr)
      .def("set_class_weights", &Engine::set_class_weights, py::arg("weights"))
      .def_property_readonly("optimizer_steps", [](Engine& e) { return e.optimizer().steps(); })
      .def_property_readonly("capturable",
                             [](Engine& e) { return e.optimizer().config().capturable; })
      .def(
          "set_scheduler",
          [](Engine& e, const std::string& name, const py::dict& options) {
            e.set_scheduler(scheduler_config(name, options));
          },
          py::arg("name"), py::arg("options") = py::dict())
      .def_property_readonly("has_scheduler", [](Engine& e) { return e.scheduler() != nullptr; })
      .def("scheduler_epoch_end", &Engine::scheduler_epoch_end, py::arg("metric") = py::none())
      .def("scheduler_state",
           [](Engine& e) {
             return e.scheduler() ? e.scheduler()->state() : std::map<std::string, double>{};
           })
      .def("load_scheduler_state",
           [](Engine& e, const std::map<std::string, double>& s) {
             if (!e.scheduler())
               throw ConfigError("this Engine has no scheduler to load a state into");
             e.scheduler()->load_state(s);
           })
      .def("optimizer_state", [](Engine& e) { return e.optimizer().state(); })
      .def("load_optimizer_state", [](Engine& e, const std::map<std::string, torch::Tensor>& s) {
        e.optimizer().load_state(s);
      });
}

}  // namespace greymatter::bindings
