// greeting: the smallest useful modrt plugin. It adds GREETING=<text> to the workload's environment
// and places /etc/motd in the container (through ctx.container_files, which the fs stage writes).
#include <modrt/error.hpp>
#include <modrt/plugin.hpp>

namespace {

class GreetingStage : public modrt::Stage {
 public:
  explicit GreetingStage(std::string text) : text_(std::move(text)) {}

  // Host side, before the workload exists: nothing is acquired, so there is nothing to roll back.
  void prepare(modrt::Context& ctx) override {
    ctx.process.env.push_back("GREETING=" + text_);
    ctx.container_files.push_back({"/etc/motd", text_ + "\n", 0644});
    ctx.log().info("greeting the workload with '{}'", text_);
  }

 private:
  std::string text_;
};

std::unique_ptr<modrt::Stage> create(const modrt::ConfigNode& with, const modrt::Config&) {
  with.expect_keys({"text"});
  std::string text = with.require("text").as_string();
  if (text.empty()) with.require("text").fail("must not be empty");
  return std::make_unique<GreetingStage>(std::move(text));
}

const modrt::OptionDoc kOptions[] = {
    {"text", "the greeting (required)"},
    {nullptr, nullptr},
};

}  // namespace

MODRT_PLUGIN({.api_version = modrt::kPluginApiVersion,
              .name = "greeting",
              .version = "1.0",
              .description = "adds GREETING to the environment and /etc/motd to the container",
              .options = kOptions,
              .create = &create})
