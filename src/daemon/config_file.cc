// SPDX-License-Identifier: MIT
// The TOML config file reader (toml++, built without exceptions). Every key must be in the
// config table; `[diversity]` holds the diversity.* keys. Values become text and go
// through the same typing and clamping as flags and the environment.
// Header-only, so the no-exception API is compiled here (the packaged library is built
// with exceptions).
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

#include "daemon/config.h"
#include "platform/files.h"

namespace svcdht::daemon {

namespace {

bool to_text(const toml::node& v, std::vector<std::string>* out) {
    if (auto i = v.value<int64_t>(); i && v.is_integer()) {
        if (*i < 0) return false;
        out->push_back(std::to_string(*i));
        return true;
    }
    if (v.is_boolean()) {
        out->push_back(*v.value<bool>() ? "true" : "false");
        return true;
    }
    if (v.is_string()) {
        out->push_back(*v.value<std::string>());
        return true;
    }
    if (const toml::array* a = v.as_array()) {
        for (const toml::node& e : *a) {
            if (!e.is_string()) return false;
            out->push_back(*e.value<std::string>());
        }
        return true;
    }
    return false;
}

void walk(const toml::table& t, const std::string& prefix, const std::string& path, RawValues* out,
          std::vector<ConfigIssue>* issues, bool* ok) {
    for (auto&& [k, v] : t) {
        const std::string key = prefix + std::string(k.str());
        if (const toml::table* sub = v.as_table()) {
            walk(*sub, key + ".", path, out, issues, ok);
            continue;
        }
        const KeyDef* d = find_key(key);
        if (d == nullptr) {
            issues->push_back({true, "unknown key '" + key + "' in " + path});
            *ok = false;
            continue;
        }
        std::vector<std::string> texts;
        if (!to_text(v, &texts) || (texts.size() != 1 && d->type != KeyType::address_list)) {
            issues->push_back({true, "key '" + key + "' in " + path +
                                         " has the wrong type (see svc-dht.conf(5))"});
            *ok = false;
            continue;
        }
        auto& slot = (*out)[key];
        for (const std::string& s : texts) slot.push_back({s, "file " + path});
    }
}

}  // namespace

bool read_toml(const std::string& path, RawValues* out, std::vector<ConfigIssue>* issues) {
    std::string text, err;
    if (!platform::read_small_file(path, platform::MAX_CONFIG_FILE, &text, &err)) {
        issues->push_back({true, "config file: " + err});
        return false;
    }
    return parse_toml(text, path, out, issues);
}

bool parse_toml(std::string_view text, const std::string& path, RawValues* out,
                std::vector<ConfigIssue>* issues) {
    toml::parse_result r = toml::parse(text, path);
    if (!r) {
        const auto& e = r.error();
        issues->push_back({true, "cannot read config file " + path + ": " +
                                     std::string(e.description()) + " (line " +
                                     std::to_string(e.source().begin.line) + ")"});
        return false;
    }
    bool ok = true;
    walk(r.table(), "", path, out, issues, &ok);
    return ok;
}

}  // namespace svcdht::daemon
