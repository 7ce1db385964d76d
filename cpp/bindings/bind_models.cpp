// Models: each is bound with torch::python::bind_module, which makes a torch.nn.Module subclass
// in Python whose parameters are the C++ module's own tensors (torch.optim works on them).
// python/greymatter/models/ wraps these classes with PyTorch's signatures, state_dict and repr.
// Each model is built from its options struct, bound too: the struct's C++ defaults are the only
// ones (the Python classes take their signatures' defaults from a default-constructed struct), so
// the constructors here take the struct and no defaults of their own.
// Names starting with "_" are helpers for that package (torch's ModuleWrapper does not copy them
// onto instances).
#include <pybind11/stl.h>

#include "bindings.h"
#include "greymatter/errors.h"
#include "greymatter/models/capture.h"
#include "greymatter/models/cnns.h"
#include "greymatter/models/mnist_net.h"
#include "greymatter/models/mobilenet_v2.h"
#include "greymatter/models/printout.h"
#include "greymatter/models/transfer_classifier.h"

namespace greymatter::bindings {

using namespace greymatter::models;

namespace {

template <typename Impl>
auto bind_model(py::module_& m, const char* name) {
  return torch::python::bind_module<Impl>(m, name).def("macs_per_sample", &Impl::macs_per_sample);
}

}  // namespace

void bind_models(py::module_& m) {
  m.def(
      "_pytorch_repr", [](const torch::nn::Module& module) { return pytorch_repr(module); },
      py::arg("module"));
  m.def(
      "_layer_attributes", [](const torch::nn::Module& module) { return layer_attributes(module); },
      py::arg("module"));
  m.def(
      "_state_tensors", [](const torch::nn::Module& module) { return state_tensors(module); },
      py::arg("module"));
  m.def(
      "_forward_module",
      [](torch::nn::Module& module, const torch::Tensor& x) { return forward_module(module, x); },
      py::arg("module"), py::arg("x"));
  m.def(
      "_capture",
      [](torch::nn::Module& module, const torch::Tensor& x,
         const std::vector<std::string>& layers) {
        auto* model = dynamic_cast<ModelImpl*>(&module);
        if (!model) throw ConfigError(class_name(module) + " is not a greymatter model");
        auto out = capture(*model, x, layers);
        return py::make_tuple(out.output, out.activations, out.layers);
      },
      py::arg("model"), py::arg("x"), py::arg("layers"),
      "(output, [(layer, activation)], every layer name) of one forward pass; layers=[]: all");

  bind_options<MNISTNetOptions>(m, "MNISTNetOptions", "MNISTNet's sizes; hidden: one per layer")
      .def_readwrite("in_features", &MNISTNetOptions::in_features)
      .def_readwrite("hidden", &MNISTNetOptions::hidden)
      .def_readwrite("num_classes", &MNISTNetOptions::num_classes)
      .def_readwrite("dropout", &MNISTNetOptions::dropout);
  bind_model<MNISTNetImpl>(m, "MNISTNet").def(py::init<MNISTNetOptions>(), py::arg("options"));

  bind_options<SimpleCNNOptions>(m, "SimpleCNNOptions", "SimpleCNN's input and layer sizes")
      .def_readwrite("in_channels", &SimpleCNNOptions::in_channels)
      .def_readwrite("num_classes", &SimpleCNNOptions::num_classes)
      .def_readwrite("image_size", &SimpleCNNOptions::image_size)
      .def_readwrite("channels", &SimpleCNNOptions::channels);
  bind_model<SimpleCNNImpl>(m, "SimpleCNN").def(py::init<SimpleCNNOptions>(), py::arg("options"));

  bind_options<MNISTCNNOptions>(m, "MNISTCNNOptions", "MNISTCNN's input and layer sizes")
      .def_readwrite("in_channels", &MNISTCNNOptions::in_channels)
      .def_readwrite("num_classes", &MNISTCNNOptions::num_classes)
      .def_readwrite("channels", &MNISTCNNOptions::channels)
      .def_readwrite("batch_norm", &MNISTCNNOptions::batch_norm)
      .def_readwrite("hidden", &MNISTCNNOptions::hidden)
      .def_readwrite("dropout", &MNISTCNNOptions::dropout)
      .def_readwrite("image_size", &MNISTCNNOptions::image_size);
  bind_model<MNISTCNNImpl>(m, "MNISTCNN").def(py::init<MNISTCNNOptions>(), py::arg("options"));

  bind_options<ExamModelOptions>(m, "ExamModelOptions", "ExamModel's input and layer sizes")
      .def_readwrite("in_channels", &ExamModelOptions::in_channels)
      .def_readwrite("image_size", &ExamModelOptions::image_size)
      .def_readwrite("channels", &ExamModelOptions::channels)
      .def_readwrite("hidden", &ExamModelOptions::hidden)
      .def_readwrite("sigmoid", &ExamModelOptions::sigmoid);
  bind_model<ExamModelImpl>(m, "ExamModel").def(py::init<ExamModelOptions>(), py::arg("options"));

  bind_options<BrainTumorCNNOptions>(m, "BrainTumorCNNOptions",
                                     "BrainTumorCNN's input and layer sizes")
      .def_readwrite("in_channels", &BrainTumorCNNOptions::in_channels)
      .def_readwrite("num_classes", &BrainTumorCNNOptions::num_classes)
      .def_readwrite("image_size", &BrainTumorCNNOptions::image_size)
      .def_readwrite("channels", &BrainTumorCNNOptions::channels)
      .def_readwrite("hidden", &BrainTumorCNNOptions::hidden)
      .def_readwrite("dropout", &BrainTumorCNNOptions::dropout);
  bind_model<BrainTumorCNNImpl>(m, "BrainTumorCNN")
      .def(py::init<BrainTumorCNNOptions>(), py::arg("options"));

  bind_options<MobileNetV2Options>(m, "MobileNetV2Options",
                                   "MobileNetV2's classes, width and dropout; classifier=False: "
                                   "forward returns the pooled features")
      .def_readwrite("num_classes", &MobileNetV2Options::num_classes)
      .def_readwrite("width_mult", &MobileNetV2Options::width_mult)
      .def_readwrite("dropout", &MobileNetV2Options::dropout)
      .def_readwrite("classifier", &MobileNetV2Options::classifier);
  bind_model<MobileNetV2Impl>(m, "MobileNetV2")
      .def(py::init<MobileNetV2Options>(), py::arg("options"))
      .def("forward_features", &MobileNetV2Impl::forward_features, py::arg("x"))
      .def_property_readonly("last_channel", &MobileNetV2Impl::last_channel);

  py::enum_<Backbone>(m, "Backbone", "The networks a TransferClassifier stands on")
      .value("MOBILENET_V2", Backbone::kMobileNetV2);
  bind_options<TransferClassifierOptions>(m, "TransferClassifierOptions",
                                          "TransferClassifier's backbone and head; size_inner 0: "
                                          "no inner layer")
      .def_readwrite("backbone", &TransferClassifierOptions::backbone)
      .def_readwrite("num_classes", &TransferClassifierOptions::num_classes)
      .def_readwrite("size_inner", &TransferClassifierOptions::size_inner)
      .def_readwrite("dropout", &TransferClassifierOptions::dropout)
      .def_readwrite("freeze", &TransferClassifierOptions::freeze);
  bind_model<TransferClassifierImpl>(m, "TransferClassifier")
      .def(py::init<TransferClassifierOptions>(), py::arg("options"))
      .def("forward_features", &TransferClassifierImpl::forward_features, py::arg("x"))
      .def("forward_head", &TransferClassifierImpl::forward_head, py::arg("features"))
      .def("freeze", &TransferClassifierImpl::freeze)
      .def("unfreeze", &TransferClassifierImpl::unfreeze)
      .def_property_readonly("_frozen", &TransferClassifierImpl::frozen)
      .def_property_readonly("feature_dim", &TransferClassifierImpl::feature_dim);
}

}  // namespace greymatter::bindings
