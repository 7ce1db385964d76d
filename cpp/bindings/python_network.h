// A Python torch.nn.Module as an Engine Network: the Engine's loop (loss, backward, optimizer,
// metrics, checks) runs in C++ with the GIL released, and takes the GIL only to call the module's
// forward (and train()/to(), once per epoch). The tensor it returns carries its autograd graph
// back to C++, where backward runs as for a C++ model (torch's engine takes the GIL itself for any
// Python node in the graph).
#pragma once

#include <memory>

#include "bindings.h"
#include "greymatter/train/network.h"

namespace greymatter::bindings {

// A greymatter model (its C++ module), or any other torch.nn.Module through the adapter above.
// `probes` answers for a Python module what a C++ model knows of itself, once per sample shape:
// probes.macs_per_sample(module, shape) -> int (its cost, for the thread budget) and
// probes.takes_channels_last(module, shape) -> bool. None: unknown cost, no channels_last.
std::shared_ptr<train::Network> as_network(const py::object& model, const py::object& probes);

}  // namespace greymatter::bindings
