// Data: IDX reading, in-memory sources and the prefetching loader. Iteration releases the GIL
// while waiting for a batch, so worker threads and other Python threads run meanwhile.
#include <pybind11/stl.h>

#include "bindings.h"
#include "greymatter/data/idx.h"
#include "greymatter/data/loader.h"
#include "greymatter/data/tensor_source.h"

namespace greymatter::bindings {

using namespace greymatter::data;

void bind_data(py::module_& m) {
  m.def("read_idx", &read_idx, py::arg("path"), py::call_guard<py::gil_scoped_release>(),
        "Read an IDX file (optionally .gz) into a uint8 tensor.");

  py::class_<Source, std::shared_ptr<Source>>(m, "Source")
      .def("__len__", &Source::size)
      .def_property_readonly("sample_shape", &Source::sample_shape)
      .def(
          "get",
          [](const Source& s, int64_t index, int64_t epoch, uint64_t seed) {
            auto out = torch::empty(s.sample_shape(), torch::kFloat32);
            int64_t label = 0;
            {
              py::gil_scoped_release release;
              label = s.load(SampleKey{seed, epoch, index}, out.data_ptr<float>());
            }
            return py::make_tuple(out, label);
          },
          py::arg("index"), py::arg("epoch") = 0, py::arg("seed") = 0);

  py::class_<TensorSource, Source, std::shared_ptr<TensorSource>>(m, "TensorSource")
      .def(py::init<torch::Tensor, torch::Tensor, std::vector<double>, std::vector<double>>(), py::arg("images"),
           py::arg("labels"), py::arg("mean") = std::vector<double>{}, py::arg("std") = std::vector<double>{})
      .def_property_readonly("images", &TensorSource::images)
      .def_property_readonly("labels", &TensorSource::labels);

  py::class_<EpochIterator>(m, "EpochIterator")
      .def("__iter__", [](EpochIterator& it) -> EpochIterator& { return it; })
      .def("__len__", &EpochIterator::num_batches)
      .def("__next__", [](EpochIterator& it) {
        std::optional<Batch> batch;
        {
          py::gil_scoped_release release;
          batch = it.next();
        }
        if (!batch) throw py::stop_iteration();
        return py::make_tuple(batch->images, batch->labels);
      });

  py::class_<Loader, std::shared_ptr<Loader>>(m, "Loader")
      .def(py::init([](std::shared_ptr<Source> source, std::vector<int64_t> indices, int64_t batch_size, bool shuffle,
                       bool drop_last, uint64_t seed, int64_t num_workers, int64_t prefetch) {
             LoaderOptions o;
             o.batch_size = batch_size;
             o.shuffle = shuffle;
             o.drop_last = drop_last;
             o.seed = seed;
             o.num_workers = num_workers;
             o.prefetch = prefetch;
             return std::make_shared<Loader>(std::move(source), std::move(indices), o);
           }),
           py::arg("source"), py::arg("indices"), py::arg("batch_size") = 64, py::arg("shuffle") = false,
           py::arg("drop_last") = false, py::arg("seed") = 0, py::arg("num_workers") = 1, py::arg("prefetch") = 2)
      .def("__len__", &Loader::num_batches)
      .def_property_readonly("num_samples", &Loader::num_samples)
      .def("epoch", &Loader::epoch, py::arg("epoch") = 0, "Start one pass; the iterator owns its worker threads.");
}

}  // namespace greymatter::bindings
