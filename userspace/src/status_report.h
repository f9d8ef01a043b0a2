// How status and version information is shown: aligned key/value text for
// people, JSON (stable snake_case keys) for scripts.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "control.h"

namespace egpuctl {

using Json = nlohmann::ordered_json;

// The value, or JSON null when it is absent (not reported).
template <typename T>
Json or_null(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}

// Rows as columns aligned to the widest cell (two spaces apart); the last
// column is not padded, no line ends in spaces.  The first row is the
// heading.  Used by every table (gpu list, tb list, shutdown-plan).
void print_columns(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

// Names of the EGPU_FEATURE_* bits in `bits`, lowest bit first; bits this
// egpuctl does not know are appended as one hex number ("0x18").
std::vector<std::string> feature_names(uint64_t bits);

// "key: value" lines with the values aligned; a row may be indented one
// level (a section's members) or be a section heading without value.
class KeyValueTable {
 public:
  void add(std::string key, std::string value, int level = 0);
  void section(std::string key);
  void print(std::ostream& out) const;

 private:
  struct Row {
    std::string key, value;
    int level;
    bool heading;
  };
  std::vector<Row> rows_;
};

void print_status_text(std::ostream& out, const Status& status);
Json status_json(const Status& status);

// JSON as egpuctl prints it: indented, invalid UTF-8 replaced, newline.
void print_json(std::ostream& out, const Json& j);

}  // namespace egpuctl
