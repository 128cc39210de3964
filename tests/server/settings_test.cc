// The settings table and the configuration loader: precedence of the file, the environment and
// the flags, validation messages, the example file, and what a reload may change.

#include "server/settings.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

namespace devauth::testing {
namespace {

namespace fs = std::filesystem;

const std::string kExampleFile = std::string(DEVAUTH_SOURCE_DIR) + "/docs/devauth.example.toml";

class SettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() /
                 ("devauth-settings-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(directory_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(directory_, ignored);
  }

  std::string writeFile(const std::string& text) {
    const std::string path = (directory_ / "devauth.toml").string();
    std::ofstream(path) << text;
    return path;
  }

  ConfigSources sources(std::optional<std::string> file = std::nullopt) {
    ConfigSources result;
    result.file = std::move(file);
    result.environment = [this](std::string_view name) -> std::optional<std::string> {
      const auto found = environment_.find(std::string(name));
      if (found == environment_.end()) {
        return std::nullopt;
      }
      return found->second;
    };
    return result;
  }

  fs::path directory_;
  std::map<std::string, std::string> environment_;
};

TEST_F(SettingsTest, DefaultsMatchConfig) {
  auto config = loadConfig(sources());
  ASSERT_TRUE(config) << config.error();
  EXPECT_EQ(config->http.port, 8080);
  EXPECT_EQ(config->poll_interval, seconds(5));
  EXPECT_EQ(config->issuer, "http://127.0.0.1:8080");
  EXPECT_EQ(config->log_level, "info");
}

TEST_F(SettingsTest, FlagOverridesEnvironmentOverridesFile) {
  const std::string file = writeFile(
      "[device]\ninterval = 11\nexpires_in = 100\n[listen]\nport = 9001\n[log]\nlevel = "
      "\"warn\"\n");
  environment_["DEVAUTH_DEVICE_INTERVAL"] = "12";
  environment_["DEVAUTH_DEVICE_EXPIRES_IN"] = "150";
  ConfigSources given = sources(file);
  given.flags["device.expires_in"] = std::int64_t{200};

  auto config = loadConfig(given);
  ASSERT_TRUE(config) << config.error();
  EXPECT_EQ(config->poll_interval, seconds(12));     // environment over file
  EXPECT_EQ(config->device_code_ttl, seconds(200));  // flag over environment and file
  EXPECT_EQ(config->http.port, 9001);                // file over default
  EXPECT_EQ(config->log_level, "warn");
  EXPECT_EQ(config->issuer, "http://127.0.0.1:9001");
}

TEST_F(SettingsTest, EverySettingTypeLoadsFromFile) {
  const std::string file = writeFile(
      "[server]\nissuer = \"https://auth.example.com/\"\n"
      "[proxy]\ntrust_forwarded_for = true\n"
      "[metadata]\nscopes_supported = [\"read\", \"write\"]\n"
      "[limits]\nuser_code_failures_per_address = 7\n");
  auto config = loadConfig(sources(file));
  ASSERT_TRUE(config) << config.error();
  EXPECT_EQ(config->issuer, "https://auth.example.com");
  EXPECT_TRUE(config->trust_forwarded_for);
  EXPECT_EQ(config->scopes_supported, (std::vector<std::string>{"read", "write"}));
  EXPECT_EQ(config->limits.user_code_failures_per_address.max_count, 7);
}

TEST_F(SettingsTest, EnvironmentParsesListsAndBooleans) {
  environment_["DEVAUTH_METADATA_SCOPES_SUPPORTED"] = "read, write profile";
  environment_["DEVAUTH_PROXY_TRUST_FORWARDED_FOR"] = "yes";
  auto config = loadConfig(sources());
  ASSERT_TRUE(config) << config.error();
  EXPECT_EQ(config->scopes_supported, (std::vector<std::string>{"read", "write", "profile"}));
  EXPECT_TRUE(config->trust_forwarded_for);
}

TEST_F(SettingsTest, UnknownKeyIsErrorWithSuggestion) {
  const std::string file = writeFile("[listen]\nadress = \"127.0.0.1\"\n");
  auto config = loadConfig(sources(file));
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error(),
            file + ":2:10: unknown key \"listen.adress\"; did you mean \"listen.address\"?");
}

TEST_F(SettingsTest, UnknownTableIsError) {
  const std::string file = writeFile("[branding]\ncolour = \"red\"\n");
  auto checked = checkConfigFile(file);
  ASSERT_FALSE(checked);
  EXPECT_NE(checked.error().find("unknown key \"branding.colour\""), std::string::npos)
      << checked.error();
}

TEST_F(SettingsTest, OutOfRangeValueNamesKeyAndValue) {
  const std::string file = writeFile("[device]\ninterval = 0\n");
  auto checked = checkConfigFile(file);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error(),
            file + ":2:12: device.interval = 0: must be between 1 and 3600 seconds");
}

TEST_F(SettingsTest, WrongTypeNamesKeyAndValue) {
  const std::string file = writeFile("[listen]\nport = \"8080\"\n");
  auto checked = checkConfigFile(file);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error(), file + ":2:8: listen.port = '8080': expected an integer");
}

TEST_F(SettingsTest, InvalidChoiceNamesKey) {
  const std::string file = writeFile("[log]\nlevel = \"loud\"\n");
  auto checked = checkConfigFile(file);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error(),
            file +
                ":2:9: log.level = 'loud': expected trace, debug, info, warn, error, "
                "critical or off");
}

TEST_F(SettingsTest, SyntaxErrorNamesLine) {
  const std::string file = writeFile("[listen]\nport = 80\n[device\n");
  auto checked = checkConfigFile(file);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().rfind(file + ":3:", 0), 0u) << checked.error();
}

TEST_F(SettingsTest, InvalidEnvironmentValueNamesVariable) {
  environment_["DEVAUTH_LISTEN_PORT"] = "80a";
  auto config = loadConfig(sources());
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error(), "DEVAUTH_LISTEN_PORT=80a: expected an integer (listen.port)");
}

TEST_F(SettingsTest, InvalidFlagValueNamesFlag) {
  ConfigSources given = sources();
  given.flags["listen.port"] = std::int64_t{70000};
  auto config = loadConfig(given);
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error(), "--port 70000: must be between 0 and 65535");
}

TEST_F(SettingsTest, InvalidIssuerIsRejected) {
  environment_["DEVAUTH_SERVER_ISSUER"] = "auth.example.com";
  auto config = loadConfig(sources());
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().find("DEVAUTH_SERVER_ISSUER=auth.example.com"), std::string::npos);
}

TEST_F(SettingsTest, EnvironmentNamesFollowKeys) {
  for (const auto& setting : settings()) {
    std::string expected = "DEVAUTH_";
    for (const char c : setting.key) {
      expected.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(c)));
    }
    EXPECT_EQ(setting.env, expected) << setting.key;
    EXPECT_TRUE(setting.flag.starts_with("--")) << setting.key;
    EXPECT_FALSE(setting.help.empty()) << setting.key;
    ASSERT_NE(setting.set, nullptr) << setting.key;
    ASSERT_NE(setting.get, nullptr) << setting.key;
  }
}

TEST_F(SettingsTest, KeysAndFlagsAreUnique) {
  std::set<std::string_view> keys;
  std::set<std::string_view> flags;
  for (const auto& setting : settings()) {
    EXPECT_TRUE(keys.insert(setting.key).second) << setting.key;
    EXPECT_TRUE(flags.insert(setting.flag).second) << setting.flag;
  }
}

TEST_F(SettingsTest, ExampleFileIsValid) {
  auto checked = checkConfigFile(kExampleFile);
  EXPECT_TRUE(checked) << checked.error();
  auto config = loadConfig(sources(kExampleFile));
  ASSERT_TRUE(config) << config.error();
  // The example states the defaults.
  const Config defaults;
  for (const auto& setting : settings()) {
    if (setting.key != "server.issuer") {
      EXPECT_EQ(formatSettingValue(setting.get(*config)), formatSettingValue(setting.get(defaults)))
          << setting.key;
    }
  }
}

TEST_F(SettingsTest, ExampleFileMentionsEverySetting) {
  std::ifstream input(kExampleFile);
  const std::string text((std::istreambuf_iterator<char>(input)), std::istreambuf_iterator<char>());
  for (const auto& setting : settings()) {
    const std::string key(setting.key);
    const std::string table = key.substr(0, key.find('.'));
    const std::string name = key.substr(key.find('.') + 1);
    EXPECT_NE(text.find("[" + table + "]"), std::string::npos) << key;
    const bool listed = text.find("\n" + name + " = ") != std::string::npos ||
                        text.find("\n# " + name + " = ") != std::string::npos;
    EXPECT_TRUE(listed) << key;
  }
}

TEST_F(SettingsTest, ReloadAppliesOnlyReloadableSettings) {
  Config current;
  Config reloaded;
  reloaded.poll_interval = seconds(9);
  reloaded.log_level = "debug";
  reloaded.limits.device_requests_per_client.max_count = 3;
  reloaded.http.port = 9999;
  reloaded.store = "other.db";

  const auto need_restart = applyReloadable(current, reloaded);
  EXPECT_EQ(current.poll_interval, seconds(9));
  EXPECT_EQ(current.log_level, "debug");
  EXPECT_EQ(current.limits.device_requests_per_client.max_count, 3);
  EXPECT_EQ(current.http.port, 8080);
  EXPECT_EQ(current.store, "devauth.db");
  EXPECT_EQ(need_restart, (std::vector<std::string>{"listen.port", "server.store"}));
}

}  // namespace
}  // namespace devauth::testing
