// A process-wide request to stop the Engine's loops after the current batch. The loops check it
// after every batch, so a stop takes effect within one batch whatever the progress interval.
// Setting it is async-signal-safe (a lock-free atomic store): a SIGINT handler may call
// request_stop(). The flag is only a request; whoever set it decides what the stop means to its
// caller (the Python bindings raise KeyboardInterrupt).
#pragma once

namespace greymatter::train {

// Asks every running Engine loop to stop after its current batch. Async-signal-safe.
void request_stop() noexcept;

// Whether a stop was requested since the last clear_stop().
bool stop_requested() noexcept;

// Withdraws the request (before a new loop starts, and once its stop has been handled).
void clear_stop() noexcept;

}  // namespace greymatter::train
