// Training: the Engine runs whole epochs with the GIL released. The progress callback re-takes the
// GIL every N batches, checks for Ctrl-C and calls the Python function; a Python exception there
// stops the epoch after the current batch and is re-raised once the loop has unwound. Ctrl-C is
// also seen within one batch through the core's stop flag, set by a SIGINT handler installed around
// the loop (StopOnSigint).
#include <pybind11/functional.h>
#include <pybind11/stl.h>
#include <signal.h>

#include <exception>

#include <optional>

#include "bindings.h"
#include "greymatter/data/feature_source.h"
#include "greymatter/errors.h"
#include "greymatter/models/printout.h"
#include "greymatter/train/engine.h"
#include "greymatter/train/loop_checks.h"
#include "greymatter/train/stop.h"
#include "greymatter/train/thread_budget.h"
#include "python_network.h"

namespace greymatter::bindings {

using namespace greymatter::train;
using greymatter::data::Loader;

namespace {

// Python's C-level SIGINT handler only records the signal; the Python-level one, which raises
// KeyboardInterrupt, runs when the main thread next checks for signals, which a loop without the
// GIL does only in its progress callback. While such a loop runs on the main thread, this handler
// also sets the core's stop flag, so the loop ends after the current batch, then chains to the
// previous C-level handler (Python's), so PyErr_CheckSignals() afterwards raises
// KeyboardInterrupt as it always did.
struct sigaction g_previous_sigint;  // written before on_sigint is installed, only read by it

void on_sigint(int sig, siginfo_t* info, void* context) {
  train::request_stop();
  if (g_previous_sigint.sa_flags & SA_SIGINFO) {
    if (g_previous_sigint.sa_sigaction) g_previous_sigint.sa_sigaction(sig, info, context);
  } else if (g_previous_sigint.sa_handler != SIG_DFL && g_previous_sigint.sa_handler != SIG_IGN) {
    g_previous_sigint.sa_handler(sig);
  }
}

// Installs on_sigint for its lifetime (construct with the GIL held). Only on the main thread
// (where Python handles signals), only when Python's handler is the default one (Ctrl-C means
// KeyboardInterrupt: a custom handler may not want the loop stopped), never over SIG_IGN or
// SIG_DFL, and not twice (a loop started from a progress callback).
class StopOnSigint {
 public:
  StopOnSigint() {
    auto threading = py::module_::import("threading");
    if (!threading.attr("current_thread")().is(threading.attr("main_thread")())) return;
    auto signal = py::module_::import("signal");
    if (!signal.attr("getsignal")(signal.attr("SIGINT")).is(signal.attr("default_int_handler")))
      return;
    struct sigaction current {};
    if (sigaction(SIGINT, nullptr, &current) != 0) return;
    const bool info = current.sa_flags & SA_SIGINFO;
    if (info && current.sa_sigaction == on_sigint) return;
    if (!info && (current.sa_handler == SIG_DFL || current.sa_handler == SIG_IGN)) return;
    g_previous_sigint = current;
    struct sigaction mine {};
    mine.sa_sigaction = on_sigint;
    mine.sa_flags = SA_SIGINFO | (current.sa_flags & (SA_ONSTACK | SA_RESTART));
    sigemptyset(&mine.sa_mask);
    train::clear_stop();
    installed_ = sigaction(SIGINT, &mine, nullptr) == 0;
  }
  ~StopOnSigint() {
    if (!installed_) return;
    sigaction(SIGINT, &g_previous_sigint, nullptr);
    train::clear_stop();
  }
  // Whether a SIGINT asked the loop to stop (read before the destructor clears the flag).
  bool fired() const { return installed_ && train::stop_requested(); }

  StopOnSigint(const StopOnSigint&) = delete;
  StopOnSigint& operator=(const StopOnSigint&) = delete;

 private:
  bool installed_ = false;
};

// Takes the pending Python error into three owned references, for restoring after C++ unwinds.
struct HeldError {
  py::object type, value, trace;
  explicit operator bool() const { return bool(type); }
  void fetch() {
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    type = py::reinterpret_steal<py::object>(t);
    value = py::reinterpret_steal<py::object>(v);
    trace = py::reinterpret_steal<py::object>(tb);
  }
  [[noreturn]] void raise() {
    PyErr_Restore(type.release().ptr(), value.release().ptr(), trace.release().ptr());
    throw py::error_already_set();
  }
};

// Runs `loop` without the GIL; `callback(done, total)` runs with it. Python errors raised by the
// callback (KeyboardInterrupt included) are held while C++ unwinds, then restored. A Ctrl-C seen
// through the stop flag is raised as KeyboardInterrupt once the loop has stopped.
template <typename Loop>
EpochStats run_with_progress(Loop loop, const py::object& callback) {
  HeldError error;
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
    error.fetch();
    return false;
  };
  EpochStats stats;
  std::exception_ptr failure;
  bool signalled = false;
  {
    StopOnSigint stop_on_sigint;
    try {
      py::gil_scoped_release release;
      stats = loop(progress);
    } catch (...) {
      failure = std::current_exception();
    }
    signalled = stop_on_sigint.fired();
  }
  // Python's handler has recorded the SIGINT: this runs it (KeyboardInterrupt).
  if (!error && signalled && PyErr_CheckSignals() != 0) error.fetch();
  if (error) error.raise();  // a Ctrl-C wins over what the loop threw after it
  if (failure) std::rethrow_exception(failure);
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
                      "The losses: cross-entropy, NLL, BCE on probabilities or logits, MSE")
      .value("CROSS_ENTROPY", LossKind::kCrossEntropy)
      .value("NLL", LossKind::kNLL)
      .value("BCE", LossKind::kBCE)
      .value("BCE_WITH_LOGITS", LossKind::kBCEWithLogits)
      .value("MSE", LossKind::kMSE);
  bind_options<LossConfig>(m, "LossConfig", "A loss and its options, torch.nn's names")
      .def_readwrite("kind", &LossConfig::kind)
      .def_readwrite("class_weights", &LossConfig::class_weights)
      .def_readwrite("label_smoothing", &LossConfig::label_smoothing)
      .def_readwrite("ignore_index", &LossConfig::ignore_index)
      .def_readwrite("pos_weight", &LossConfig::pos_weight);

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
  bind_options<ParamGroup>(m, "ParamGroup",
                           "A parameter group: slots (positions in the model's parameters()) and "
                           "their hyper-parameters (options.kind is the optimizer's)")
      .def_readwrite("slots", &ParamGroup::slots)
      .def_readwrite("options", &ParamGroup::options);

  py::enum_<SchedulerKind>(m, "SchedulerKind", "The learning-rate schedules (NONE: constant)")
      .value("NONE", SchedulerKind::kNone)
      .value("PLATEAU", SchedulerKind::kPlateau)
      .value("STEP", SchedulerKind::kStep)
      .value("MULTISTEP", SchedulerKind::kMultiStep)
      .value("EXPONENTIAL", SchedulerKind::kExponential)
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
      .def_readwrite("min_lrs", &SchedulerConfig::min_lrs)
      .def_readwrite("eps", &SchedulerConfig::eps)
      .def_readwrite("step_size", &SchedulerConfig::step_size)
      .def_readwrite("milestones", &SchedulerConfig::milestones)
      .def_readwrite("gamma", &SchedulerConfig::gamma)
      .def_readwrite("t_max", &SchedulerConfig::t_max)
      .def_readwrite("eta_min", &SchedulerConfig::eta_min)
      .def_readwrite("max_lr", &SchedulerConfig::max_lr)
      .def_readwrite("max_lrs", &SchedulerConfig::max_lrs)
      .def_readwrite("total_steps", &SchedulerConfig::total_steps)
      .def_readwrite("pct_start", &SchedulerConfig::pct_start)
      .def_readwrite("anneal_strategy", &SchedulerConfig::anneal_strategy)
      .def_readwrite("div_factor", &SchedulerConfig::div_factor)
      .def_readwrite("final_div_factor", &SchedulerConfig::final_div_factor)
      .def_readwrite("three_phase", &SchedulerConfig::three_phase)
      .def_readwrite("cycle_momentum", &SchedulerConfig::cycle_momentum)
      .def_readwrite("base_momentum", &SchedulerConfig::base_momentum)
      .def_readwrite("max_momentum", &SchedulerConfig::max_momentum);

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

  // The checks the Python loop shares with the Engine (same refusals, same messages).
  m.def("_check_accumulate", &check_accumulate, py::arg("accumulate"));
  m.def("_check_trainable", &check_trainable, py::arg("parameters"));
  m.def("_non_finite_loss", &throw_non_finite_loss, py::arg("value"), py::arg("epoch"),
        py::arg("batch"), "raises the TrainingError for a NaN/inf loss");

  m.def("_free_cores", &free_cores,
        "cores of this process's affinity that no other process's runnable task holds now (>= 1)");

  // Loss and Scheduler are bound for the Trainer's Python loop (what the Engine does not run: a
  // custom loss, another optimizer or scheduler), so both share one definition of targets,
  // accuracy and learning-rate curves.
  py::class_<Loss>(m, "Loss")
      .def(py::init<LossConfig>(), py::arg("config"))
      .def("__call__", &Loss::operator(), py::arg("output"), py::arg("labels"))
      .def("check", &Loss::check, py::arg("output"), py::arg("labels"))
      .def("check_labels", &Loss::check_labels, py::arg("labels"), py::arg("outputs"))
      .def("correct", &Loss::correct, py::arg("output"), py::arg("labels"))
      .def("probabilities", &Loss::probabilities, py::arg("output"))
      .def("output_for", &Loss::output_for, py::arg("probabilities"))
      .def(
          "with_class_weights",
          [](const Loss& loss, std::vector<double> weights) {
            LossConfig config = loss.config();
            config.class_weights = std::move(weights);
            return Loss(std::move(config));
          },
          py::arg("weights"),
          "The same loss with these class weights (checked as at construction).");

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
      .def(py::init<SchedulerConfig, std::vector<double>>(), py::arg("config"), py::arg("base_lrs"),
           "base_lrs: each parameter group's lr when training starts")
      .def("initial_lrs", &Scheduler::initial_lrs)
      .def("momentum", &Scheduler::momentum)
      .def("after_step", &Scheduler::after_step)
      .def("after_epoch", &Scheduler::after_epoch, py::arg("metric"), py::arg("current_lrs"))
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
      .def(py::init([](const py::object& model, EngineOptions options, const std::string& device,
                       const py::object& probes) {
             return std::make_unique<Engine>(as_network(model, probes), std::move(options),
                                             torch::Device(device));
           }),
           py::arg("model"), py::arg("options") = EngineOptions{}, py::arg("device") = "cpu",
           py::arg("probes") = py::none(),
           "model: a greymatter model or any torch.nn.Module (its forward is called with the GIL "
           "held, the rest of the loop runs without it); probes: what a plain module's cost and "
           "memory format are (greymatter.train.module_cost)")
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
      .def_property(
          "lrs", [](Engine& e) { return e.optimizer().lrs(); },
          [](Engine& e, const std::vector<double>& lrs) { e.optimizer().set_lrs(lrs); },
          "one lr per parameter group")
      .def_property(
          "param_groups", [](Engine& e) { return e.optimizer().groups(); },
          [](Engine& e, std::vector<ParamGroup> groups) {
            e.optimizer().set_groups(std::move(groups));
          },
          "the optimizer's parameter groups (torch.optim's param_groups, with slot numbers)")
      .def_property_readonly(
          "loss", [](Engine& e) { return e.loss(); },
          "the Loss this engine trains with (its probabilities rule, checks)")
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
            if (auto momentum = e.scheduler()->momentum())  // a cycled momentum continues too
              e.optimizer().set_momenta(
                  std::vector<double>(e.optimizer().groups().size(), *momentum));
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
