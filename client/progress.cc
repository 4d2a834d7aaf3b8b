#include "client/progress.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace dwae {
namespace {

// "1:02:03" or "2:03".
std::string Clock(double seconds) {
  const long long s = static_cast<long long>(std::max(0.0, seconds) + 0.5);
  if (s >= 3600) {
    return absl::StrFormat("%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  }
  return absl::StrFormat("%lld:%02lld", s / 60, s % 60);
}

}  // namespace

ProgressBar::ProgressBar(const ProgressCounters* counters, uint64_t total_bytes,
                         std::FILE* out, absl::Duration interval)
    : counters_(counters),
      total_bytes_(total_bytes),
      out_(out),
      interval_(interval) {}

ProgressBar::~ProgressBar() { Finish(); }

std::string ProgressBar::Render(uint64_t sent, uint64_t answered,
                                uint64_t anomalies, uint64_t bytes_read,
                                uint64_t total_bytes, absl::Duration elapsed) {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  const double rate = seconds > 0 ? double(answered) / seconds : 0;
  std::string line;
  if (total_bytes > 0) {
    const double fraction =
        std::min(1.0, double(bytes_read) / double(total_bytes));
    constexpr int kWidth = 20;
    const int filled = static_cast<int>(fraction * kWidth);
    absl::StrAppend(&line, "[", std::string(filled, '#'),
                    std::string(kWidth - filled, '.'), "] ",
                    absl::StrFormat("%5.1f%% ", 100 * fraction));
  }
  absl::StrAppend(
      &line,
      absl::StrFormat("sent %llu  answered %llu  %.0f rec/s  anomalies %llu",
                      static_cast<unsigned long long>(sent),
                      static_cast<unsigned long long>(answered), rate,
                      static_cast<unsigned long long>(anomalies)));
  absl::StrAppend(&line, "  ", Clock(seconds));
  if (total_bytes > 0 && bytes_read > 0 && bytes_read < total_bytes) {
    const double eta =
        seconds * double(total_bytes - bytes_read) / double(bytes_read);
    absl::StrAppend(&line, "  ETA ", Clock(eta));
  }
  return line;
}

void ProgressBar::Draw() {
  std::string line =
      Render(counters_->sent.load(), counters_->answered.load(),
             counters_->anomalies.load(), counters_->bytes_read.load(),
             total_bytes_, absl::Now() - start_);
  const size_t width = line.size();
  // Pad over the rest of a longer previous line.
  if (width < last_width_) line.append(last_width_ - width, ' ');
  last_width_ = width;
  std::fprintf(out_, "\r%s", line.c_str());
  std::fflush(out_);
}

void ProgressBar::Start() {
  if (started_) return;
  started_ = true;
  start_ = absl::Now();
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      cv_.wait_for(lock, absl::ToChronoNanoseconds(interval_));
      if (stop_) break;
      Draw();
    }
  });
}

void ProgressBar::Finish() {
  if (!started_ || finished_) return;
  finished_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  thread_.join();
  Draw();
  std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace dwae
