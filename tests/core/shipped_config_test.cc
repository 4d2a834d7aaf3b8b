// The configuration file the project ships must parse and must state the
// defaults exactly: an operator who copies it changes nothing by accident.
#include <fstream>
#include <sstream>

#include "core/config.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

TEST(ShippedConfigTest, DeployConfigStatesTheDefaults) {
  std::ifstream in(DWAE_SOURCE_DIR "/deploy/dwaed.conf");
  ASSERT_TRUE(in) << "deploy/dwaed.conf is missing";
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<v1::DaemonConfig> parsed = ParseDaemonConfigText(text.str());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<DetectorConfig> config = DetectorConfigFromProto(*parsed);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      DetectorConfigToProto(*config), DetectorConfigToProto(DetectorConfig())))
      << DetectorConfigToProto(*config).DebugString();
}

}  // namespace
}  // namespace dwae
