// ProgressBar: a one-line progress display on stderr for long client runs
// (`dwae replay`): records sent and answered, records/s, anomalies, and the
// percent done with an ETA from the bytes read out of the input's size.
//
// A background thread redraws the line with '\r' at most ~10 times a
// second from counters the caller updates (atomics: any thread may update
// them). Finish() draws the final state and ends the line with '\n', so the
// summary printed afterwards starts on a fresh line.
//
// Thread-safety: the counters are atomics; Start()/Finish() from one thread.
#ifndef DWAE_CLIENT_PROGRESS_H_
#define DWAE_CLIENT_PROGRESS_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"

namespace dwae {

struct ProgressCounters {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> answered{0};
  std::atomic<uint64_t> anomalies{0};
  std::atomic<uint64_t> bytes_read{0};
};

class ProgressBar {
 public:
  // `total_bytes`: the input's size (0: unknown, no percent or ETA).
  ProgressBar(const ProgressCounters* counters, uint64_t total_bytes,
              std::FILE* out = stderr,
              absl::Duration interval = absl::Milliseconds(100));
  ~ProgressBar();  // Finish()es
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void Start();
  // Draws the final line and a newline; stops the thread. Idempotent.
  void Finish();

  // The line for these values (no '\r'), for tests.
  static std::string Render(uint64_t sent, uint64_t answered,
                            uint64_t anomalies, uint64_t bytes_read,
                            uint64_t total_bytes, absl::Duration elapsed);

 private:
  void Draw();

  const ProgressCounters* counters_;
  const uint64_t total_bytes_;
  std::FILE* out_;
  const absl::Duration interval_;
  absl::Time start_;
  size_t last_width_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace dwae

#endif  // DWAE_CLIENT_PROGRESS_H_
