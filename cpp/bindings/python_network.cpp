#include "python_network.h"

#include <map>
#include <string>
#include <vector>

#include "greymatter/errors.h"

namespace greymatter::bindings {
namespace {

class PythonModuleNetwork : public train::Network {
 public:
  PythonModuleNetwork(py::object module, py::object probes)
      : module_(std::move(module)),
        probes_(std::move(probes)),
        name_(py::str(py::type::of(module_).attr("__name__"))) {}

  ~PythonModuleNetwork() override {
    py::gil_scoped_acquire gil;
    module_ = py::object();
    probes_ = py::object();
  }

  torch::Tensor forward(const torch::Tensor& x) override {
    py::gil_scoped_acquire gil;
    py::object out = module_(x);
    if (!THPVariable_Check(out.ptr()))
      throw ConfigError(name_ + ".forward returned " +
                        std::string(py::str(py::type::of(out).attr("__name__"))) +
                        "; the Trainer needs one tensor of outputs, (B, num_classes) or (B, 1)");
    return THPVariable_Unpack(out.ptr());
  }

  void train(bool on) override {
    py::gil_scoped_acquire gil;
    module_.attr("train")(on);
  }

  std::vector<torch::Tensor> parameters() override {
    py::gil_scoped_acquire gil;
    std::vector<torch::Tensor> out;
    for (const auto& p : module_.attr("parameters")()) out.push_back(THPVariable_Unpack(p.ptr()));
    return out;
  }

  int64_t macs_per_sample(const std::vector<int64_t>& sample_shape) override {
    auto known = macs_.find(sample_shape);
    if (known != macs_.end()) return known->second;
    py::gil_scoped_acquire gil;
    const int64_t macs =
        probes_.is_none() ? -1
                          : probes_.attr("macs_per_sample")(module_, sample_shape).cast<int64_t>();
    return macs_[sample_shape] = macs;
  }

  bool takes_channels_last(const std::vector<int64_t>& sample_shape) override {
    auto known = channels_last_.find(sample_shape);
    if (known != channels_last_.end()) return known->second;
    py::gil_scoped_acquire gil;
    const bool ok = !probes_.is_none() &&
                    probes_.attr("takes_channels_last")(module_, sample_shape).cast<bool>();
    return channels_last_[sample_shape] = ok;
  }

  void to(torch::Device device) override {
    py::gil_scoped_acquire gil;
    module_.attr("to")(device.str());
  }

  std::string name() const override { return name_; }

 private:
  py::object module_, probes_;
  std::string name_;
  // By sample shape: each probe runs once per shape.
  std::map<std::vector<int64_t>, int64_t> macs_;
  std::map<std::vector<int64_t>, bool> channels_last_;
};

}  // namespace

std::shared_ptr<train::Network> as_network(const py::object& model, const py::object& probes) {
  if (py::hasattr(model, "cpp_module")) {
    auto module = model.attr("cpp_module").cast<std::shared_ptr<torch::nn::Module>>();
    auto typed = std::dynamic_pointer_cast<models::ModelImpl>(module);
    if (!typed)
      throw ConfigError("the Engine trains whole greymatter models, got a part: " + module->name());
    return train::model_network(std::move(typed));
  }
  if (!py::isinstance(model, py::module_::import("torch.nn").attr("Module")))
    throw ConfigError("the Engine trains a torch.nn.Module, got " +
                      std::string(py::str(py::type::of(model).attr("__name__"))));
  return std::make_shared<PythonModuleNetwork>(model, probes);
}

}  // namespace greymatter::bindings
