// Models: each is bound with torch::python::bind_module, which makes a torch.nn.Module subclass
// in Python whose parameters are the C++ module's own tensors (torch.optim works on them).
#include <pybind11/stl.h>

#include "bindings.h"
#include "greymatter/models/mnist_net.h"

namespace greymatter::bindings {

using namespace greymatter::models;

void bind_models(py::module_& m) {
  torch::python::bind_module<MNISTNetImpl>(m, "MNISTNet")
      .def(py::init([](std::vector<int64_t> hidden, int64_t num_classes, double dropout, int64_t in_features) {
             return std::make_shared<MNISTNetImpl>(MNISTNetOptions{in_features, hidden, num_classes, dropout});
           }),
           py::arg("hidden") = std::vector<int64_t>{128, 64}, py::arg("num_classes") = 10, py::arg("dropout") = 0.0,
           py::arg("in_features") = 784);
}

}  // namespace greymatter::bindings
