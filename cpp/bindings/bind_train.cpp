// Training: the Engine runs whole epochs with the GIL released. The progress callback re-takes the
// GIL every N batches, checks for Ctrl-C and calls the Python function; a Python exception there
// stops the epoch after the current batch and is re-raised once the loop has unwound.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <optional>

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

// The enums and option structs of losses, optimizers, schedules and the Engine. Python builds them
// (greymatter/train/core_options.py) from the names users write.
void bind_train_options(py::module_& m) {
  py::enum_<LossKind>(m, "LossKind",
                      "The losses: cross-entropy, BCE on probabilities or logits, MSE")
      .value("CROSS_ENTROPY", LossKind::kCrossEntropy)
      .value("BCE", LossKind::kBCE)
      .value("BCE_WITH_LOGITS", LossKind::kBCEWithLogits)
      .value("MSE", LossKind::kMSE);
  bind_options<LossConfig>(m, "LossConfig", "A loss and its cross-entropy options")
      .def_readwrite("kind", &LossConfig::kind)
      .def_readwrite("class_weights", &LossConfig::class_weights)
      .def_readwrite("label_smoothing", &LossConfig::label_smoothing);

  py::enum_<OptimizerKind>(m, "OptimizerKind", "The optimizers, with torch.optim's update rules")
      .value("ADAM", OptimizerKind::kAdam)
      .value("ADAMW", OptimizerKind::kAdamW)
      .value("SGD", OptimizerKind::kSGD);
  // `capturable` is left out: the Engine sets it from EngineOptions.capturable and the device.
  bind_options<OptimizerConfig>(m, "OptimizerConfig", "An optimizer and its hyper-parameters")
      .def_readwrite("kind", &OptimizerConfig::kind)
      .def_readwrite("lr", &OptimizerConfig::lr)
      .def_readwrite("weight_decay", &OptimizerConfig::weight_decay)
      .def_readwrite("momentum", &OptimizerConfig::momentum)
      .def_readwrite("dampening", &OptimizerConfig::dampening)
      .def_readwrite("nesterov", &OptimizerConfig::nesterov)
      .def_readwrite("beta1", &OptimizerConfig::beta1)
      .def_readwrite("beta2", &OptimizerConfig::beta2)
      .def_readwrite("eps", &OptimizerConfig::eps);

  py::enum_<SchedulerKind>(m, "SchedulerKind", "The learning-rate schedules (NONE: constant)")
      .value("NONE", SchedulerKind::kNone)
      .value("PLATEAU", SchedulerKind::kPlateau)
      .value("STEP", SchedulerKind::kStep)
      .value("COSINE", SchedulerKind::kCosine)
      .value("ONECYCLE", SchedulerKind::kOneCycle);
  py::enum_<PlateauMode>(m, "PlateauMode", "ReduceLROnPlateau: should the metric fall or rise")
      .value("MIN", PlateauMode::kMin)
      .value("MAX", PlateauMode::kMax);
  py::enum_<ThresholdMode>(m, "ThresholdMode", "ReduceLROnPlateau: relative or absolute threshold")
      .value("REL", ThresholdMode::kRel)
      .value("ABS", ThresholdMode::kAbs);
  py::enum_<AnnealStrategy>(m, "AnnealStrategy", "OneCycleLR's curve: cosine or linear")
      .value("COS", AnnealStrategy::kCos)
      .value("LINEAR", AnnealStrategy::kLinear);
  bind_options<SchedulerConfig>(m, "SchedulerConfig",
                                "A schedule and its options, torch.optim.lr_scheduler's names")
      .def_readwrite("kind", &SchedulerConfig::kind)
      .def_readwrite("mode", &SchedulerConfig::mode)
      .def_readwrite("factor", &SchedulerConfig::factor)
      .def_readwrite("patience", &SchedulerConfig::patience)
      .def_readwrite("threshold", &SchedulerConfig::threshold)
      .def_readwrite("threshold_mode", &SchedulerConfig::threshold_mode)
      .def_readwrite("cooldown", &SchedulerConfig::cooldown)
      .def_readwrite("min_lr", &SchedulerConfig::min_lr)
      .def_readwrite("eps", &SchedulerConfig::eps)
      .def_readwrite("step_size", &SchedulerConfig::step_size)
      .def_readwrite("gamma", &SchedulerConfig::gamma)
      .def_readwrite("t_max", &SchedulerConfig::t_max)
      .def_readwrite("eta_min", &SchedulerConfig::eta_min)
      .def_readwrite("max_lr", &SchedulerConfig::max_lr)
      .def_readwrite("total_steps", &SchedulerConfig::total_steps)
      .def_readwrite("pct_start", &SchedulerConfig::pct_start)
      .def_readwrite("anneal_strategy", &SchedulerConfig::anneal_strategy)
      .def_readwrite("div_factor", &SchedulerConfig::div_factor)
      .def_readwrite("final_div_factor", &SchedulerConfig::final_div_factor)
      .def_readwrite("three_phase", &SchedulerConfig::three_phase);

  py::enum_<NonFinite>(m, "NonFinite", "What a batch with a NaN/inf loss does: raise, or skip it")
      .value("RAISE", NonFinite::kRaise)
      .value("SKIP", NonFinite::kSkip);
  bind_options<EngineOptions>(m, "EngineOptions",
                              "The Engine's optimizer, loss, accumulation and NaN policy")
      .def_readwrite("optimizer", &EngineOptions::optimizer)
      .def_readwrite("loss", &EngineOptions::loss)
      .def_readwrite("accumulate", &EngineOptions::accumulate)
      .def_readwrite("non_finite", &EngineOptions::non_finite)
      .def_readwrite("amp", &EngineOptions::amp)
      .def_readwrite("capturable", &EngineOptions::capturable);
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

  bind_train_options(m);

  // Loss and Scheduler are bound for the Trainer's Python-loop fallback (plain torch.nn.Modules),
  // so both paths share one definition of targets, accuracy and learning-rate curves.
  py::class_<Loss>(m, "Loss")
      .def(py::init<LossConfig>(), py::arg("config"))
      .def("__call__", &Loss::operator(), py::arg("output"), py::arg("labels"))
      .def("check", &Loss::check, py::arg("output"), py::arg("labels"))
      .def("correct", &Loss::correct, py::arg("output"), py::arg("labels"))
      .def("probabilities", &Loss::probabilities, py::arg("output"))
      .def("output_for", &Loss::output_for, py::arg("probabilities"));

  py::enum_<TtaAugmentation>(m, "TtaAugmentation", "The views test-time augmentation can add")
      .value("HFLIP", TtaAugmentation::kHFlip)
      .value("VFLIP", TtaAugmentation::kVFlip)
      .value("CROPS", TtaAugmentation::kCrops);
  py::class_<TestTimeAugmentation>(m, "TestTimeAugmentation")
      // crop_scale None: the C++ default (7/8 of the side).
      .def(py::init(
               [](std::vector<TtaAugmentation> augmentations, std::optional<double> crop_scale) {
                 return crop_scale ? TestTimeAugmentation(std::move(augmentations), *crop_scale)
                                   : TestTimeAugmentation(std::move(augmentations));
               }),
           py::arg("augmentations") = std::vector<TtaAugmentation>{},
           py::arg("crop_scale") = py::none())
      .def_property_readonly("augmentations", &TestTimeAugmentation::augmentations)
      .def_property_readonly("crop_scale", &TestTimeAugmentation::crop_scale)
      .def_property_readonly("num_views", &TestTimeAugmentation::num_views)
      .def("view", &TestTimeAugmentation::view, py::arg("images"), py::arg("i"))
      .def("probabilities", &TestTimeAugmentation::probabilities, py::arg("forward"),
           py::arg("loss"), py::arg("images"))
      .def("__repr__", [](const TestTimeAugmentation& t) {
        std::string names;
        for (auto a : t.augmentations())
          names += (names.empty() ? "'" : ", '") + std::string(tta_augmentation_name(a)) + "'";
        return "TestTimeAugmentation([" + names +
               "], crop_scale=" + models::python_float(t.crop_scale()) + ")";
      });

  py::class_<Scheduler>(m, "Scheduler")
      .def(py::init<SchedulerConfig, double>(), py::arg("config"), py::arg("base_lr"))
      .def("initial_lr", &Scheduler::initial_lr)
      .def("after_step", &Scheduler::after_step)
      .def("after_epoch", &Scheduler::after_epoch, py::arg("metric"), py::arg("current_lr"))
      .def_property_readonly("per_step", &Scheduler::per_step)
      .def("state", &Scheduler::state)
      .def("load_state", &Scheduler::load_state, py::arg("state"));

  py::class_<data::FeatureSource, data::Source, std::shared_ptr<data::FeatureSource>>(
      m, "FeatureSource")
      .def(py::init<torch::Tensor, torch::Tensor>(), py::arg("features"), py::arg("labels"))
      .def_property_readonly("features", &data::FeatureSource::features)
      .def_property_readonly("labels", &data::FeatureSource::labels)
      .def("__len__", &data::FeatureSource::size);

  py::class_<Engine>(m, "Engine")
      .def(py::init([](const py::object& model, EngineOptions options, const std::string& device) {
             return std::make_unique<Engine>(as_model(model), std::move(options),
                                             torch::Device(device));
           }),
           py::arg("model"), py::arg("options") = EngineOptions{}, py::arg("device") = "cpu")
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
      .def_property_readonly("optimizer_steps", [](Engine& e) { return e.optimizer().steps(); })
      .def_property_readonly("capturable",
                             [](Engine& e) { return e.optimizer().config().capturable; })
      .def("set_scheduler", &Engine::set_scheduler, py::arg("config"))
      .def_property_readonly("has_scheduler", [](Engine& e) { return e.scheduler() != nullptr; })
      .def("scheduler_epoch_end", &Engine::scheduler_epoch_end, py::arg("metric") = py::none())
      .def("scheduler_state",
           [](Engine& e) {
             return e.scheduler() ? e.scheduler()->state() : std::map<std::string, double>{};
           })
      .def(
          "load_scheduler_state",
          [](Engine& e, const std::map<std::string, double>& s) {
            if (!e.scheduler())
              throw ConfigError("this Engine has no scheduler to load a state into");
            e.scheduler()->load_state(s);
          },
          py::arg("state"))
      .def("optimizer_state", [](Engine& e) { return e.optimizer().state(); })
      .def(
          "load_optimizer_state",
          [](Engine& e, const std::map<std::string, torch::Tensor>& s) {
            e.optimizer().load_state(s);
          },
          py::arg("state"));
}

}  // namespace greymatter::bindings
