// SPDX-License-Identifier: MIT
// The configuration loader: applies defaults, the file, the environment and flags in that
// order, then types, clamps and cross-checks every value; also `config check`, `--help` and
// `config keys` from the table. The table is config_table.cc, the TOML reader
// config_file.cc (toml++ is heavy to compile).
#include "daemon/config.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "svcdht/limits.h"

namespace svcdht::daemon {

namespace {

bool parse_uint(const std::string& s, uint64_t* v) {
    if (s.empty() || s.size() > 20) return false;
    uint64_t x = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        const uint64_t next = x * 10 + static_cast<uint64_t>(c - '0');
        if (next / 10 != x) return false;
        x = next;
    }
    *v = x;
    return true;
}

// valid_address checks "host:port" or "[v6]:port" (port 0..65535).
bool valid_address(const std::string& a) {
    size_t colon;
    if (!a.empty() && a[0] == '[') {
        const size_t close = a.find(']');
        if (close == std::string::npos || close + 1 >= a.size() || a[close + 1] != ':' ||
            close == 1)
            return false;
        colon = close + 1;
    } else {
        colon = a.rfind(':');
        if (colon == std::string::npos || colon == 0) return false;
        if (a.find(':') != colon) return false;  // bare IPv6 needs brackets
    }
    uint64_t port;
    return parse_uint(a.substr(colon + 1), &port) && port <= 65535;
}

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == ',' || c == ' ') {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
}

std::string quote_if_text(const KeyDef& d, const std::string& v) {
    if (d.type == KeyType::uint || d.type == KeyType::boolean) return v;
    return "\"" + v + "\"";
}

}  // namespace

bool parse_bool(std::string s, bool* v) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (s == "true" || s == "1" || s == "yes" || s == "on") {
        *v = true;
        return true;
    }
    if (s == "false" || s == "0" || s == "no" || s == "off") {
        *v = false;
        return true;
    }
    return false;
}

bool load_config(const RawValues& flags, const std::string& config_path, char** envp, Config* out,
                 std::vector<ConfigIssue>* issues) {
    RawValues file;
    if (!config_path.empty() && !read_toml(config_path, &file, issues)) return false;
    return apply_config(flags, file, config_path, envp, out, issues);
}

bool apply_config(const RawValues& flags, const RawValues& file, const std::string& config_path,
                  char** envp, Config* out, std::vector<ConfigIssue>* issues) {
    Config c;
    c.config_file = config_path;
    RawValues merged;  // key -> values of the winning source
    // Environment.
    std::map<std::string, std::string> env;
    for (char** e = envp; e != nullptr && *e != nullptr; ++e) {
        const char* eq = std::strchr(*e, '=');
        if (eq != nullptr) env[std::string(*e, static_cast<size_t>(eq - *e))] = eq + 1;
    }
    // Environment names of the seeds whose meaning no setting here shares: taking them as
    // aliases would silently set something else (a 50 ms hedge-leg budget became a 50 ms
    // RPC timeout), so a configuration that sets one is refused, naming what to use.
    static constexpr struct {
        const char* name;
        const char* why;
    } refused[] = {
        {"DHT_MIN_LEG_BUDGET_MS",
         "a minimum hedge-leg budget, which svc-dht does not have; hedges start after "
         "RON_DHT_HEDGE_AFTER_MS and an RPC fails after RON_DHT_TIMEOUT_MS"},
        {"DHT_MAX_CONCURRENT_LEGS",
         "hedge legs per lookup, which svc-dht does not bound apart from RON_DHT_BETA "
         "(hedges in flight per lookup); RON_DHT_MAX_INFLIGHT bounds RPCs node-wide"},
    };
    for (const auto& r : refused) {
        auto it = env.find(r.name);
        if (it == env.end() || it->second.empty()) continue;
        issues->push_back({true, "environment " + std::string(r.name) + " is not supported: it " +
                                     "meant " + r.why + "; unset it"});
        return false;
    }
    // An empty value means "not set" for the environment; the file and flags are explicit.
    for (const KeyDef& d : config_table()) {
        std::vector<RawValue> chosen;
        auto fit = file.find(d.key);
        if (fit != file.end()) chosen = fit->second;
        auto eit = env.find(d.env);
        if (eit != env.end() && !eit->second.empty()) {
            chosen = {{eit->second, std::string("env ") + d.env}};
        } else {
            for (const std::string& alias : split_list(d.aliases)) {
                auto ait = env.find(alias);
                if (ait == env.end() || ait->second.empty()) continue;
                chosen = {{ait->second, "env " + alias}};
                issues->push_back(
                    {false, "environment name " + alias + " is deprecated; use " + d.env});
                break;
            }
        }
        auto flt = flags.find(d.key);
        if (flt != flags.end() && !flt->second.empty()) chosen = flt->second;
        if (!chosen.empty()) merged[d.key] = chosen;
    }
    // The profile decides some defaults, so it is resolved first.
    std::string profile = "micronode";
    if (auto it = merged.find("profile"); it != merged.end()) profile = it->second.back().value;
    const bool macro = profile == "macronode";

    bool ok = true;
    for (const KeyDef& d : config_table()) {
        std::vector<RawValue> vals;
        auto it = merged.find(d.key);
        if (it != merged.end()) {
            vals = it->second;
        } else {
            vals = {{macro && d.macro_def != nullptr ? d.macro_def : d.def, "default"}};
        }
        const std::string& src = vals.back().source;
        auto bad = [&](const std::string& what, const std::string& got) {
            issues->push_back({true, std::string("key '") + d.key + "': expected " + what +
                                         ", got '" + got + "' (from " + src + ")"});
            ok = false;
        };
        c.source[d.key] = src;
        switch (d.type) {
            case KeyType::uint: {
                uint64_t v;
                const std::string& raw = vals.back().value;
                if (!parse_uint(raw, &v)) {
                    bad("an unsigned integer", raw);
                    break;
                }
                if (v < d.min || v > d.max) {
                    const uint64_t clamped = std::clamp(v, d.min, d.max);
                    issues->push_back(
                        {false, std::string("key '") + d.key + "' = " + raw + " (from " + src +
                                    ") is outside " + std::to_string(d.min) + ".." +
                                    std::to_string(d.max) + "; using " + std::to_string(clamped)});
                    v = clamped;
                }
                c.*(d.u) = v;
                c.text[d.key] = std::to_string(v);
                break;
            }
            case KeyType::boolean: {
                bool v;
                if (!parse_bool(vals.back().value, &v)) {
                    bad("true or false", vals.back().value);
                    break;
                }
                c.*(d.b) = v;
                c.text[d.key] = v ? "true" : "false";
                break;
            }
            case KeyType::choice: {
                const std::string& v = vals.back().value;
                bool found = false;
                std::string choices = d.choices;
                std::replace(choices.begin(), choices.end(), '|', ',');
                for (const std::string& ch : split_list(choices)) found |= ch == v;
                if (!found) {
                    bad(std::string("one of ") + d.choices, v);
                    break;
                }
                c.*(d.s) = v;
                c.text[d.key] = v;
                break;
            }
            case KeyType::address: {
                const std::string& v = vals.back().value;
                if (!valid_address(v)) {
                    bad("HOST:PORT (an IPv6 host in brackets)", v);
                    break;
                }
                c.*(d.s) = v;
                c.text[d.key] = v;
                break;
            }
            case KeyType::address_list: {
                std::vector<std::string> list;
                for (const RawValue& rv : vals)
                    for (const std::string& a : split_list(rv.value)) list.push_back(a);
                for (const std::string& a : list)
                    if (!valid_address(a)) bad("HOST:PORT entries", a);
                c.*(d.l) = list;
                std::string joined;
                for (const std::string& a : list) joined += (joined.empty() ? "" : ",") + a;
                c.text[d.key] = joined;
                break;
            }
            case KeyType::string:
            case KeyType::path: {
                const std::string& v = vals.back().value;
                if (d.type == KeyType::string && v.empty()) {
                    bad("a non-empty string", v);
                    break;
                }
                c.*(d.s) = v;
                c.text[d.key] = v;
                break;
            }
        }
    }
    if (!ok) return false;
    // Cross-checks: contradictions are fatal, naming the keys.
    if (c.beta > c.alpha) {
        issues->push_back({true, "key 'beta' (" + std::to_string(c.beta) +
                                     ") is greater than 'alpha' (" + std::to_string(c.alpha) +
                                     "): hedges cannot outnumber the lookup's parallelism"});
        ok = false;
    }
    if (c.ttl_secs > c.max_ttl_secs) {
        issues->push_back({true, "key 'ttl_secs' (" + std::to_string(c.ttl_secs) +
                                     ") is greater than 'max_ttl_secs' (" +
                                     std::to_string(c.max_ttl_secs) + ")"});
        ok = false;
    }
    if (c.hedge_after_ms >= c.rpc_timeout_ms && c.beta > 0) {
        issues->push_back(
            {false, "key 'hedge_after_ms' is not below 'rpc_timeout_ms': hedges will never fire"});
    }
    if (c.network.size() > 64) {
        issues->push_back({true, "key 'network': at most 64 bytes"});
        ok = false;
    }
    if (!c.amnesia && c.data_dir.empty()) {
        issues->push_back(
            {true, "key 'amnesia' is false but 'data_dir' is empty: the store needs a directory"});
        ok = false;
    }
    if (macro && c.identity_file.empty() && !c.data_dir.empty()) {
        c.identity_file = c.data_dir + "/identity.key";
        c.text["identity_file"] = c.identity_file;
        c.source["identity_file"] = "default (data_dir)";
    }
    *out = c;
    return ok;
}

std::string describe_config(const Config& c) {
    std::ostringstream o;
    o << "# effective configuration of svc-dht";
    o << (c.config_file.empty() ? " (no configuration file)" : " (file " + c.config_file + ")");
    o << "\n";
    size_t width = 0;
    for (const KeyDef& d : config_table()) {
        const auto it = c.text.find(d.key);
        const std::string v = it == c.text.end() ? "" : it->second;
        width = std::max(width, std::strlen(d.key) + 3 + quote_if_text(d, v).size());
    }
    for (const KeyDef& d : config_table()) {
        const auto it = c.text.find(d.key);
        const std::string v = it == c.text.end() ? "" : it->second;
        std::string line = std::string(d.key) + " = " + quote_if_text(d, v);
        line.resize(std::max(line.size(), width + 2), ' ');
        const auto s = c.source.find(d.key);
        o << line << "# " << (s == c.source.end() ? "default" : s->second) << "\n";
    }
    return o.str();
}

std::string options_help() {
    std::ostringstream o;
    for (const KeyDef& d : config_table()) {
        std::string left = std::string("  ") + d.flag;
        if (d.type != KeyType::boolean || std::strcmp(d.metavar, "") != 0) {
            if (std::strcmp(d.metavar, "") != 0) left += std::string(" ") + d.metavar;
        }
        if (left.size() < 34) left.resize(34, ' ');
        std::string def = d.def;
        if (d.macro_def != nullptr) def += " (macronode " + std::string(d.macro_def) + ")";
        o << left << d.help;
        if (!def.empty()) o << " [default " << def << "]";
        o << " (" << d.env << ")\n";
    }
    return o.str();
}

std::string keys_tsv() {
    static const char* const TYPES[] = {"string",       "uint", "bool",  "address",
                                        "address-list", "path", "choice"};
    std::ostringstream o;
    for (const KeyDef& d : config_table()) {
        const bool range = d.type == KeyType::uint;
        o << d.key << '\t' << TYPES[static_cast<int>(d.type)] << '\t' << d.def << '\t'
          << (d.macro_def != nullptr ? d.macro_def : "") << '\t'
          << (range ? std::to_string(d.min) : "") << '\t' << (range ? std::to_string(d.max) : "")
          << '\t' << d.env << '\t' << d.aliases << '\t' << d.flag << '\t' << d.metavar << '\t'
          << (d.reloadable ? "yes" : "no") << '\t' << d.choices << '\t' << d.unit << '\t' << d.help
          << '\n';
    }
    return o.str();
}

void reload_changes(const Config& old_c, const Config& new_c, std::vector<std::string>* applied,
                    std::vector<std::string>* need_restart) {
    for (const KeyDef& d : config_table()) {
        const auto a = old_c.text.find(d.key);
        const auto b = new_c.text.find(d.key);
        const std::string av = a == old_c.text.end() ? "" : a->second;
        const std::string bv = b == new_c.text.end() ? "" : b->second;
        if (av == bv) continue;
        (d.reloadable ? applied : need_restart)
            ->push_back(std::string(d.key) + ": " + av + " -> " + bv);
    }
}

}  // namespace svcdht::daemon
