// The stop flag behind stop.h. A plain atomic<bool>: lock-free on every platform libtorch supports,
// which is what makes storing to it from a signal handler safe.
#include "greymatter/train/stop.h"

#include <atomic>

namespace greymatter::train {
namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "a signal handler sets this flag");

}  // namespace

void request_stop() noexcept { g_stop.store(true, std::memory_order_relaxed); }

bool stop_requested() noexcept { return g_stop.load(std::memory_order_relaxed); }

void clear_stop() noexcept { g_stop.store(false, std::memory_order_relaxed); }

}  // namespace greymatter::train
