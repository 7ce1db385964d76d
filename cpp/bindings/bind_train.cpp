// Training: the Engine runs whole epochs with the GIL released. The progress callback re-takes the
// GIL every N batches, checks for Ctrl-C and calls the Python function; a Python exception there
// stops the epoch after the current batch and is re-raised once the loop has unwound. Ctrl-C is
// also seen within one batch through the core's stop flag, set by a SIGINT handler installed around
// the loop (StopOnSigint).
#include <pybind11/functional.h>
#include <pybind11/stl.h>
#include <signal.h>

#include <exception>

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
    else if (key == "min_lr" && py::isinstance<py::sequence>(v))  // one per parameter group
      c.min_lrs = v.cast<std::vector<double>>();
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
    else if (key == "max_lr" && py::isinstance<py::sequence>(v))  // one per parameter group
      c.max_lrs = v.cast<std::vector<double>>();
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
    else if (key == "milestones")
      c.milestones = v.cast<std::vector<int64_t>>();
    else if (key == "cycle_momentum")
      c.cycle_momentum = v.cast<bool>();
    else if (key == "base_momentum")
      c.base_momentum = v.cast<double>();
    else if (key == "max_momentum")
      c.max_momentum = v.cast<double>();
    else
      throw ConfigError("scheduler '" + name + "' has no option '" + key + "'");
  }
  return c;
}

py::list param_groups(const Optimizer& optimizer) {
  py::list out;
  for (const auto& g : optimizer.groups()) {
    const auto& o = g.options;
    out.append(py::dict(py::arg("params") = g.slots, py::arg("lr") = o.lr,
                        py::arg("weight_decay") = o.weight_decay, py::arg("momentum") = o.momentum,
                        py::arg("dampening") = o.dampening, py::arg("nesterov") = o.nesterov,
                        py::arg("betas") = std::make_pair(o.beta1, o.beta2),
                        py::arg("eps") = o.eps));
  }
  return out;
}

// Groups as torch.optim writes them, with slot numbers for "params"; a missing setting is the
// optimizer's own.
void set_param_groups(Optimizer& optimizer, const py::list& groups) {
  std::vector<ParamGroup> out;
  for (const auto& item : groups) {
    const auto group = item.cast<py::dict>();
    ParamGroup g{{}, optimizer.config()};
    for (auto kv : group) {
      const auto key = kv.first.cast<std::string>();
      const py::handle v = kv.second;
      if (key == "params")
        g.slots = v.cast<std::vector<int64_t>>();
      else if (key == "lr")
        g.options.lr = v.cast<double>();
      else if (key == "weight_decay")
        g.options.weight_decay = v.cast<double>();
      else if (key == "momentum")
        g.options.momentum = v.cast<double>();
      else if (key == "dampening")
        g.options.dampening = v.cast<double>();
      else if (key == "nesterov")
        g.options.nesterov = v.cast<bool>();
      else if (key == "betas")
        std::tie(g.options.beta1, g.options.beta2) = v.cast<std::pair<double, double>>();
      else if (key == "eps")
        g.options.eps = v.cast<double>();
      else
        throw ConfigError("parameter groups have no setting '" + key + "'");
    }
    out.push_back(std::move(g));
  }
  optimizer.set_groups(std::move(out));
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

  // The checks the Python loop shares with the Engine (same refusals, same messages).
  m.def("_check_loop_options", &check_loop_options, py::arg("accumulate"), py::arg("non_finite"));
  m.def("_check_trainable", &check_trainable, py::arg("parameters"));
  m.def("_non_finite_loss", &throw_non_finite_loss, py::arg("value"), py::arg("epoch"),
        py::arg("batch"), "raises the TrainingError for a NaN/inf loss");

  m.def("_free_cores", &free_cores,
        "cores of this process's affinity that no other process's runnable task holds now (>= 1)");

  // Loss and Scheduler are bound for the Trainer's Python loop (what the Engine does not run: a
  // custom loss, another optimizer or scheduler), so both share one definition of targets,
  // accuracy and learning-rate curves.
  py::class_<Loss>(m, "Loss")
      .def(py::init([](std::string name, std::vector<double> class_weights, double label_smoothing,
                       int64_t ignore_index, std::vector<double> pos_weight) {
             return Loss(LossConfig{std::move(name), std::move(class_weights), label_smoothing,
                                    ignore_index, std::move(pos_weight)});
           }),
           py::arg("name") = "cross_entropy", py::arg("class_weights") = std::vector<double>{},
           py::arg("label_smoothing") = 0.0, py::arg("ignore_index") = -100,
           py::arg("pos_weight") = std::vector<double>{})
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
      .def(py::init(
               [](const std::string& name, const py::dict& options, std::vector<double> base_lrs) {
                 return Scheduler(scheduler_config(name, options), std::move(base_lrs));
               }),
           py::arg("name"), py::arg("options"), py::arg("base_lrs"),
           "base_lrs: each parameter group's lr when training starts")
      .def("initial_lrs", &Scheduler::initial_lrs)
      .def("momentum", &Scheduler::momentum)
      .def("after_step", &Scheduler::after_step)
      .def("after_epoch", &Scheduler::after_epoch, py::arg("metric"), py::arg("current_lrs"))
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
      .def(py::init(
               [](const py::object& model, std::string optimizer, double lr, double weight_decay,
                  double momentum, bool nesterov, std::pair<double, double> betas, double eps,
                  std::string loss, std::vector<double> class_weights, double label_smoothing,
                  int64_t accumulate, std::string non_finite, bool amp, const std::string& device,
                  std::optional<bool> capturable, double dampening, int64_t ignore_index,
                  std::vector<double> pos_weight, const py::object& probes) {
                 EngineOptions o;
                 o.optimizer.name = std::move(optimizer);
                 o.optimizer.lr = lr;
                 o.optimizer.weight_decay = weight_decay;
                 o.optimizer.momentum = momentum;
                 o.optimizer.dampening = dampening;
                 o.optimizer.nesterov = nesterov;
                 o.optimizer.beta1 = betas.first;
                 o.optimizer.beta2 = betas.second;
                 o.optimizer.eps = eps;
                 o.loss = LossConfig{std::move(loss), std::move(class_weights), label_smoothing,
                                     ignore_index, std::move(pos_weight)};
                 o.accumulate = accumulate;
                 o.non_finite = std::move(non_finite);
                 o.amp = amp;
                 o.capturable = capturable;
                 return std::make_unique<Engine>(as_network(model, probes), std::move(o),
                                                 torch::Device(device));
               }),
           py::arg("model"), py::arg("optimizer") = "adam", py::arg("lr") = 1e-3,
           py::arg("weight_decay") = 0.0, py::arg("momentum") = 0.0, py::arg("nesterov") = false,
           py::arg("betas") = std::pair<double, double>{0.9, 0.999}, py::arg("eps") = 1e-8,
           py::arg("loss") = "cross_entropy", py::arg("class_weights") = std::vector<double>{},
           py::arg("label_smoothing") = 0.0, py::arg("accumulate") = 1,
           py::arg("non_finite") = "raise", py::arg("amp") = true, py::arg("device") = "cpu",
           py::arg("capturable") = py::none(), py::arg("dampening") = 0.0,
           py::arg("ignore_index") = -100, py::arg("pos_weight") = std::vector<double>{},
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
          "param_groups", [](Engine& e) { return param_groups(e.optimizer()); },
          [](Engine& e, const py::list& groups) { set_param_groups(e.optimizer(), groups); },
          "torch.optim-style groups with slot numbers (positions in model.parameters()) as params")
      .def_property_readonly(
          "loss", [](Engine& e) { return e.loss(); },
          "the Loss this engine trains with (its probabilities rule, checks)")
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
             if (auto momentum = e.scheduler()->momentum())  // a cycled momentum continues too
               e.optimizer().set_momenta(
                   std::vector<double>(e.optimizer().groups().size(), *momentum));
           })
      .def("optimizer_state", [](Engine& e) { return e.optimizer().state(); })
      .def("load_optimizer_state", [](Engine& e, const std::map<std::string, torch::Tensor>& s) {
        e.optimizer().load_state(s);
      });
}

}  // namespace greymatter::bindings
