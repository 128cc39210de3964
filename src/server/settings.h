#pragma once

// Every setting of `devauth serve`, declared once in one table (settings.cc). Each entry names
// the TOML key, the environment variable, the flag, the unit, the type with its range, the help
// text, whether a SIGHUP reload may change it, and how it is read from and written to Config.
//
// The layers apply in this order, each overriding the one before: the defaults of Config, the
// TOML file (`--config FILE`), the DEVAUTH_* environment variables, then the flags.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/expected.h"
#include "server/config.h"

namespace devauth {

enum class SettingType { Text, Integer, Boolean, TextList };

using SettingValue = std::variant<std::string, std::int64_t, bool, std::vector<std::string>>;

struct Setting {
  // TOML key as "table.name"; the file writes it as `name = ...` under `[table]`.
  std::string_view key;
  // Environment variable, DEVAUTH_ followed by the key in upper case with '.' as '_'.
  std::string_view env;
  // Flag of `devauth serve`, with its leading dashes.
  std::string_view flag;
  // Unit of an Integer ("seconds", "per minute", ...), or empty.
  std::string_view unit;
  SettingType type = SettingType::Text;
  // Inclusive range of an Integer.
  std::int64_t min = 0;
  std::int64_t max = 0;
  // Whether a SIGHUP reload applies a changed value without a restart.
  bool reloadable = false;
  std::string_view help;
  // Checks a value of the right type further; returns the problem, or nullopt when valid.
  std::optional<std::string> (*check)(const SettingValue& value) = nullptr;
  void (*set)(Config& config, const SettingValue& value) = nullptr;
  SettingValue (*get)(const Config& config) = nullptr;
};

// The table of every setting, in the order of the example file.
const std::vector<Setting>& settings();

// The setting with `key`, or null.
const Setting* findSetting(std::string_view key);

// A value in the syntax of the environment and the flags: integers in decimal, booleans as
// true/false (also 1/0, yes/no, on/off), lists separated by spaces or commas.
Expected<SettingValue, std::string> parseSettingText(const Setting& setting, std::string_view text);

// Checks the type's range and the setting's own check.
std::optional<std::string> validateSetting(const Setting& setting, const SettingValue& value);

// The value as the environment or a flag would spell it.
std::string formatSettingValue(const SettingValue& value);

struct ConfigSources {
  // The TOML file, when one is given.
  std::optional<std::string> file;
  // Looks up an environment variable; null reads none.
  std::function<std::optional<std::string>(std::string_view name)> environment;
  // Values given as flags, by setting key, already parsed.
  std::map<std::string, SettingValue, std::less<>> flags;
};

// Builds the configuration from the layers. An error names the source (file and line, the
// variable, or the flag), the key and the offending value. An issuer that no layer sets is
// derived from the listen address and port.
Expected<Config, std::string> loadConfig(const ConfigSources& sources);

// Reads and validates a TOML file alone: unknown keys, wrong types and out-of-range values are
// errors. Used by `devauth config check`.
Expected<void, std::string> checkConfigFile(const std::string& path);

// The DEVAUTH_* variables of the process environment.
std::optional<std::string> processEnvironment(std::string_view name);

// Copies the settings that a reload may change from `reloaded` into `current`, and returns the
// keys of the others whose values differ (they need a restart).
std::vector<std::string> applyReloadable(Config& current, const Config& reloaded);

}  // namespace devauth
