// SPDX-License-Identifier: MIT
// Fuzz target: the configuration path (DESIGN 9). The input is a TOML file: toml++ parses
// it, every key is matched against the config table, and the values are typed, clamped and
// cross-checked exactly as for `svc-dht run --config FILE`. Invariants: nothing crashes or
// throws, a refused file always says why, and an accepted one has every key in the table
// with a value and a source, and describes itself without error.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "daemon/config.h"

using namespace svcdht::daemon;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > (64u << 10)) return 0;  // the daemon reads up to 1 MiB; small files find more
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    RawValues file;
    std::vector<ConfigIssue> issues;
    if (!parse_toml(text, "fuzz.toml", &file, &issues)) {
        if (issues.empty() || !issues.front().fatal) std::abort();
        return 0;
    }
    Config c;
    char* no_env[] = {nullptr};
    issues.clear();
    if (!apply_config({}, file, "fuzz.toml", no_env, &c, &issues)) {
        bool fatal = false;
        for (const ConfigIssue& i : issues) fatal |= i.fatal && !i.message.empty();
        if (!fatal) std::abort();
        return 0;
    }
    for (const KeyDef& d : config_table())
        if (c.text.count(d.key) == 0 || c.source.count(d.key) == 0) std::abort();
    (void)describe_config(c);
    return 0;
}
