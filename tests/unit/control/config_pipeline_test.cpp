
#include <gtest/gtest.h>

#include <thread>

#include "config/parse.h"
#include "control/config_pipeline.h"
#include "control/server.h"

namespace causeway::control {
namespace {

config::Node dynamicWithRouters(int count) {
  std::string yaml = "http:\n  routers:\n";
  for (int i = 0; i < count; ++i)
    yaml += "    r" + std::to_string(i) + ": {rule: 'Host(`h" + std::to_string(i) + ".test`)', service: s}\n";
  yaml += "  services:\n    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}]}}\n";
  return config::parseYaml(yaml, "d.yml").root;
}

class ConfigPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = config::parseYaml(
        "entryPoints: {web: {address: '127.0.0.1:0'}}\nproviders: {providersThrottleDuration: 200ms}\n", "s.yml");
    config::DecodeContext context;
    config::decode(loaded.root, static_, context);
    std::vector<config::ConfigError> errors;
    entryPoints_ = resolveEntryPoints(static_, errors);
    pipeline_ = std::make_unique<ConfigPipeline>(io_, static_, entryPoints_, 1, terminating_, holder_);
    pipeline_->onPublish = [this](const runtime::Snapshot& s) { published_.push_back(s.runtime.routers.size()); };
  }

  asio::io_context io_;
  config::StaticConfig static_;
  std::vector<runtime::EntryPoint> entryPoints_;
  std::atomic<bool> terminating_{false};
  runtime::SnapshotHolder holder_;
  std::unique_ptr<ConfigPipeline> pipeline_;
  std::vector<size_t> published_;
};

TEST_F(ConfigPipelineTest, FirstChangeAppliesAtOnceLaterOnesAreCoalescedWithinTheThrottle) {
  pipeline_->submit("file", dynamicWithRouters(1));
  ASSERT_EQ(published_, std::vector<size_t>{1});
  EXPECT_EQ(holder_.load()->runtime.routers.size(), 1u);

  // Within the 200 ms window: only the latest of these is applied, once.
  pipeline_->submit("file", dynamicWithRouters(2));
  pipeline_->submit("file", dynamicWithRouters(3));
  EXPECT_EQ(published_.size(), 1u);
  auto start = std::chrono::steady_clock::now();
  io_.run_for(std::chrono::milliseconds(400));
  EXPECT_EQ(published_, (std::vector<size_t>{1, 3}));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
}

TEST_F(ConfigPipelineTest, UnchangedConfigurationIsNotRebuilt) {
  pipeline_->submit("file", dynamicWithRouters(2));
  io_.run_for(std::chrono::milliseconds(250));
  pipeline_->submit("file", dynamicWithRouters(2));
  io_.run_for(std::chrono::milliseconds(250));
  EXPECT_EQ(published_.size(), 1u);
}

TEST_F(ConfigPipelineTest, PublishNowPublishesAnEmptyConfigurationWithoutProviders) {
  pipeline_->publishNow();
  ASSERT_EQ(published_.size(), 1u);
  EXPECT_NE(holder_.load(), nullptr);
  EXPECT_EQ(holder_.generation(), 1u);
}

TEST_F(ConfigPipelineTest, ProvidersAreThrottledIndependently) {
  pipeline_->submit("file", dynamicWithRouters(1));
  pipeline_->submit("other", dynamicWithRouters(2));
  // Both applied at once: each provider's first configuration is not delayed.
  EXPECT_EQ(published_.size(), 2u);
  EXPECT_EQ(holder_.load()->runtime.routers.size(), 3u);
}


// A replaced snapshot whose last reference a worker drops is freed on the control thread
// (where the pipeline's trim can give its memory back), and where it drops once the pipeline
// is gone.
TEST_F(ConfigPipelineTest, ReplacedSnapshotsAreFreedOnTheControlThread) {
  pipeline_->submit("file", dynamicWithRouters(1));
  runtime::SnapshotPtr first = holder_.load();
  std::weak_ptr<const config::DynamicConfig> firstConfig = first->configs.at("file");
  pipeline_->submit("file", dynamicWithRouters(2));
  io_.run_for(std::chrono::milliseconds(250));
  ASSERT_EQ(published_.size(), 2u);
  std::thread([dropped = std::move(first)]() mutable { dropped.reset(); }).join();
  EXPECT_FALSE(firstConfig.expired());  // handed to the control thread, not freed on the worker
  io_.poll();
  EXPECT_TRUE(firstConfig.expired());

  runtime::SnapshotPtr second = holder_.load();
  std::weak_ptr<const config::DynamicConfig> secondConfig = second->configs.at("file");
  holder_.publish(nullptr);
  pipeline_.reset();
  std::thread([dropped = std::move(second)]() mutable { dropped.reset(); }).join();
  EXPECT_TRUE(secondConfig.expired());
}

}  // namespace
}  // namespace causeway::control
