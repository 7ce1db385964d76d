// Models: each is bound with torch::python::bind_module, which makes a torch.nn.Module subclass
// in Python whose parameters are the C++ module's own tensors (torch.optim works on them).
// python/greymatter/models/ wraps these classes with PyTorch's signatures, state_dict and repr.
// Names starting with "_" are helpers for that package (torch's ModuleWrapper does not copy them
// onto instances).
#include <pybind11/stl.h>

#include <variant>

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
  m.def("_pytorch_repr", [](const torch::nn::Module& module) { return pytorch_repr(module); });
  m.def("_layer_attributes",
        [](const torch::nn::Module& module) { return layer_attributes(module); });
  m.def("_state_tensors", [](const torch::nn::Module& module) { return state_tensors(module); });
  m.def("_forward_module", [](torch::nn::Module& module, const torch::Tensor& x) {
    return forward_module(module, x);
  });
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

  bind_model<MNISTNetImpl>(m, "MNISTNet")
      .def(py::init([](std::vector<int64_t> hidden, int64_t num_classes, double dropout,
                       int64_t in_features) {
             return std::make_shared<MNISTNetImpl>(
                 MNISTNetOptions{in_features, hidden, num_classes, dropout});
           }),
           py::arg("hidden") = std::vector<int64_t>{128, 64}, py::arg("num_classes") = 10,
           py::arg("dropout") = 0.0, py::arg("in_features") = 784);

  bind_model<SimpleCNNImpl>(m, "SimpleCNN")
      .def(py::init(
               [](int64_t in_channels, int64_t num_classes, int64_t image_size, int64_t channels) {
                 return std::make_shared<SimpleCNNImpl>(
                     SimpleCNNOptions{in_channels, num_classes, image_size, channels});
               }),
           py::arg("in_channels") = 1, py::arg("num_classes") = 10, py::arg("image_size") = 28,
           py::arg("channels") = 8);

  bind_model<MNISTCNNImpl>(m, "MNISTCNN")
      .def(py::init([](int64_t in_channels, int64_t num_classes, std::vector<int64_t> channels,
                       bool batch_norm, int64_t hidden, double dropout, int64_t image_size) {
             return std::make_shared<MNISTCNNImpl>(MNISTCNNOptions{in_channels, num_classes,
                                                                   std::move(channels), batch_norm,
                                                                   hidden, dropout, image_size});
           }),
           py::arg("in_channels") = 1, py::arg("num_classes") = 10,
           py::arg("channels") = std::vector<int64_t>{32, 64}, py::arg("batch_norm") = false,
           py::arg("hidden") = 128, py::arg("dropout") = 0.0, py::arg("image_size") = 28);

  bind_model<ExamModelImpl>(m, "ExamModel")
      .def(py::init([](int64_t in_channels, int64_t image_size, int64_t channels, int64_t hidden,
                       bool sigmoid) {
             return std::make_shared<ExamModelImpl>(
                 ExamModelOptions{in_channels, image_size, channels, hidden, sigmoid});
           }),
           py::arg("in_channels") = 3, py::arg("image_size") = 200, py::arg("channels") = 32,
           py::arg("hidden") = 64, py::arg("sigmoid") = true);

  bind_model<BrainTumorCNNImpl>(m, "BrainTumorCNN")
      .def(py::init([](int64_t in_channels, int64_t num_classes, int64_t image_size,
                       std::vector<int64_t> channels, int64_t hidden, double dropout) {
             return std::make_shared<BrainTumorCNNImpl>(BrainTumorCNNOptions{
                 in_channels, num_classes, image_size, std::move(channels), hidden, dropout});
           }),
           py::arg("in_channels") = 3, py::arg("num_classes") = 4, py::arg("image_size") = 128,
           py::arg("channels") = std::vector<int64_t>{32, 64, 128, 256, 512},
           py::arg("hidden") = 256, py::arg("dropout") = 0.5);

  bind_model<MobileNetV2Impl>(m, "MobileNetV2")
      .def(py::init([](int64_t num_classes, double width_mult, double dropout) {
             return std::make_shared<MobileNetV2Impl>(
                 MobileNetV2Options{num_classes, width_mult, dropout, true});
           }),
           py::arg("num_classes") = 1000, py::arg("width_mult") = 1.0, py::arg("dropout") = 0.2)
      .def("forward_features", &MobileNetV2Impl::forward_features, py::arg("x"))
      .def_property_readonly("last_channel", &MobileNetV2Impl::last_channel);

  bind_model<TransferClassifierImpl>(m, "TransferClassifier")
      .def(py::init([](std::string backbone, int64_t num_classes, int64_t size_inner,
                       double dropout, bool freeze) {
             return std::make_shared<TransferClassifierImpl>(TransferClassifierOptions{
                 std::move(backbone), num_classes, size_inner, dropout, freeze});
           }),
           py::arg("backbone") = "mobilenet_v2", py::arg("num_classes") = 10,
           py::arg("size_inner") = 0, py::arg("dropout") = 0.0, py::arg("freeze") = true)
      .def("forward_features", &TransferClassifierImpl::forward_features, py::arg("x"))
      .def("forward_head", &TransferClassifierImpl::forward_head, py::arg("features"))
      .def("freeze", &TransferClassifierImpl::freeze)
      .def("unfreeze", &TransferClassifierImpl::unfreeze)
      .def_property_readonly("_frozen", &TransferClassifierImpl::frozen)
      .def_property_readonly("feature_dim", &TransferClassifierImpl::feature_dim);
}

}  // namespace greymatter::bindings
