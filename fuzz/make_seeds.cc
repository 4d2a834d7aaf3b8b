// Writes the binary seed corpora of the fuzz targets from real NSL-KDD rows:
//   <corpus>/record_proto/*.pb   serialized dwae.v1.Record messages
//   <corpus>/checkpoint/*.ckpt   small real checkpoints (and truncated ones)
// Usage: dwae_fuzz_seeds <corpus dir> (run from the source tree; reads
// data/nsl-kdd/KDDTrain+_20Percent.txt). Deterministic output.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/checkpoint.h"
#include "core/config.h"
#include "core/detector.h"
#include "core/record.h"
#include "core/record_proto.h"
#include "dwae/v1/checkpoint.pb.h"
#include "dwae/v1/record.pb.h"

namespace {

bool WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::cerr << "cannot write " << path << "\n";
    return false;
  }
  std::cout << path << " (" << bytes.size() << " bytes)\n";
  return true;
}

// A checkpoint of a tiny detector (hidden {4}, warm-up 20) after `learn`
// records.
std::string TinyCheckpoint(const std::vector<dwae::Record>& rows, int learn) {
  dwae::DetectorConfig config;
  config.model.shape.hidden = {4};
  config.learning.warmup_records = 20;
  config.learning.warmup_epochs = 2;
  absl::StatusOr<std::unique_ptr<dwae::Detector>> detector =
      dwae::Detector::Create(config);
  if (!detector.ok()) {
    std::cerr << detector.status() << "\n";
    std::exit(1);
  }
  for (int i = 0; i < learn; ++i) (*detector)->Learn(rows[i]);
  dwae::v1::ModelState state;
  (*detector)->Save(&state);
  return dwae::EncodeCheckpoint(state);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: dwae_fuzz_seeds <corpus dir>\n";
    return 2;
  }
  const std::string dir = argv[1];
  std::ifstream in("data/nsl-kdd/KDDTrain+_20Percent.txt");
  std::vector<dwae::Record> rows;
  std::string line;
  while (rows.size() < 25 && std::getline(in, line)) {
    absl::StatusOr<dwae::Record> r =
        dwae::ParseRecordLine(line, dwae::RecordFormat::kNslKdd);
    if (!r.ok()) {
      std::cerr << r.status() << "\n";
      return 1;
    }
    rows.push_back(*std::move(r));
  }
  if (rows.size() < 25) {
    std::cerr << "need 25 rows of data/nsl-kdd/KDDTrain+_20Percent.txt\n";
    return 1;
  }

  bool ok = true;
  for (int i = 0; i < 8; ++i) {
    const dwae::v1::Record proto = dwae::RecordToProto(
        rows[i], "rec-" + std::to_string(i), i % 2 ? "sensor-a" : "");
    ok &= WriteFile(dir + "/record_proto/seed-" + std::to_string(i) + ".pb",
                    proto.SerializeAsString());
  }
  // Features only, no id/sensor/label.
  dwae::v1::Record bare;
  dwae::RecordToProto(rows[8], bare.mutable_features());
  ok &= WriteFile(dir + "/record_proto/seed-bare.pb", bare.SerializeAsString());

  const std::string trained = TinyCheckpoint(rows, 25);
  ok &= WriteFile(dir + "/checkpoint/tiny-trained.ckpt", trained);
  ok &= WriteFile(dir + "/checkpoint/tiny-trained-truncated.ckpt",
                  trained.substr(0, trained.size() / 2));
  // Still warming up: carries a warm-up buffer instead.
  ok &=
      WriteFile(dir + "/checkpoint/tiny-warmup.ckpt", TinyCheckpoint(rows, 5));
  return ok ? 0 : 1;
}
