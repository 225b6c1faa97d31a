// SPDX-License-Identifier: MIT
// The TOML config file reader (toml++, built without exceptions). Every key must be in the
// config table; `[diversity]` holds the diversity.* keys. Values become text and go
// through the same typing and clamping as flags and the environment.
// Header-only, so the no-exception API is compiled here (the packaged library is built
// with exceptions).
//
// toml++ 3.3 guards some of its parser's preconditions only with assertions. On a table
// header that does not start with a key ("[ = 1", "[&", a BOM then "[[&"; found by
// fuzz_config, upstream marzer/tomlplusplus#294 and #301) its key parser is entered with
// a broken precondition: that aborts where assertions are on, and is undefined behaviour
// where NDEBUG turns the assertion into an optimizer assumption (clang). The parser's own
// code after the assertion reports the error like any other, so here the assertions are
// off and NDEBUG is not defined: the library then returns "expected bare key starting
// character or string delimiter" with the line, and the daemon exits 2.
#undef NDEBUG
#define TOML_ASSERT(expr) static_cast<void>(0)
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

#include "daemon/config.h"
#include "platform/files.h"

namespace svcdht::daemon {

namespace {

bool to_text(const toml::node& v, std::vector<std::string>* out) {
    // Only an integer node is asked for its integer: value<int64_t>() converts a float too,
    // and a float out of int64 range (9.99e96, found by fuzz_config) is undefined there.
    if (const toml::value<int64_t>* i = v.as_integer()) {
        if (i->get() < 0) return false;
        out->push_back(std::to_string(i->get()));
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

// plain_enough refuses text that could reach toml++ 3.3's Unicode classification outside a
// comment: for some code points (U+FEF7, found by fuzz_config) its whitespace test runs
// into __builtin_unreachable, which is undefined behaviour. No key needs more than ASCII,
// so non-ASCII characters are accepted in comments only, and multi-line strings (whose
// line continuation skips whitespace through that same test) not at all. A leading UTF-8
// byte-order mark is allowed. On refusal |line| and |why| say where and what.
bool plain_enough(std::string_view text, size_t* line, const char** why) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    *line = 1;
    bool in_basic = false, in_literal = false, in_comment = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\n') {
            ++*line;
            in_basic = in_literal = in_comment = false;
            continue;
        }
        if (in_comment) continue;
        if (static_cast<unsigned char>(c) >= 0x80) {
            *why = "non-ASCII characters are accepted in comments only";
            return false;
        }
        if (in_basic) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_basic = false;
            }
        } else if (in_literal) {
            if (c == '\'') in_literal = false;
        } else if (c == '"' || c == '\'') {
            if (text.substr(i, 3) == std::string_view(c == '"' ? "\"\"\"" : "'''")) {
                *why = "multi-line strings are not used by any key";
                return false;
            }
            (c == '"' ? in_basic : in_literal) = true;
        } else if (c == '#') {
            in_comment = true;
        }
    }
    return true;
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
    size_t line = 0;
    const char* why = "";
    if (!plain_enough(text, &line, &why)) {
        issues->push_back({true, "cannot read config file " + path + ": " + why + " (line " +
                                     std::to_string(line) + ")"});
        return false;
    }
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
