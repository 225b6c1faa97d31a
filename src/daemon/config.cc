// SPDX-License-Identifier: MIT
// The configuration table and the loader that applies defaults, the file, the environment
// and flags in that order, then types, clamps and cross-checks every value. The TOML reader
// lives in config_file.cc (toml++ is heavy to compile).
#include "daemon/config.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace svcdht::daemon {

namespace {

using K = KeyType;

std::vector<KeyDef> build_table() {
    std::vector<KeyDef> t;
    auto add = [&](KeyDef d) { t.push_back(d); };
    // key, type, default, macronode default, min, max, env, aliases, flag, metavar,
    // reloadable, choices, unit, help, member
    add({"listen", K::address, "0.0.0.0:9444", nullptr, 0, 0, "RON_DHT_LISTEN", "", "--listen",
         "ADDR", false, "", "",
         "TCP address for OAP/1 peer sessions; [::]:PORT also accepts IPv4 where the system allows",
         nullptr, &Config::listen});
    add({"admin_bind", K::address, "127.0.0.1:5301", nullptr, 0, 0, "RON_DHT_ADMIN_BIND",
         "DHT_ADMIN_BIND", "--admin", "ADDR", false, "", "",
         "HTTP address of the admin plane (/healthz, /readyz, /metrics, /dht/...)", nullptr,
         &Config::admin_bind});
    add({"bootstrap", K::address_list, "", nullptr, 0, 0, "RON_DHT_BOOTSTRAP", "DHT_SEEDS",
         "--bootstrap", "HOST:PORT", false, "", "",
         "seed nodes to join through; repeat the flag or separate with commas; none runs "
         "standalone"});
    t.back().l = &Config::bootstrap;
    add({"bootstrap_required", K::uint, "0", nullptr, 0, 64, "RON_DHT_BOOTSTRAP_REQUIRED", "",
         "--bootstrap-required", "N", false, "", "",
         "seeds that must authenticate before the bootstrap gate opens; 0 means min(3, seeds)",
         &Config::bootstrap_required});
    add({"strict_ready", K::boolean, "false", nullptr, 0, 0, "RON_DHT_STRICT_READY", "",
         "--strict-ready", "", false, "", "",
         "exit with status 4 if not ready within bootstrap_timeout_ms"});
    t.back().b = &Config::strict_ready;
    add({"bootstrap_timeout_ms", K::uint, "30000", nullptr, 1000, 3600000,
         "RON_DHT_BOOTSTRAP_TIMEOUT_MS", "", "--bootstrap-timeout", "MS", false, "", "ms",
         "how long strict_ready waits for readiness", &Config::bootstrap_timeout_ms});
    add({"network", K::string, "ron", nullptr, 0, 0, "RON_DHT_NETWORK", "", "--network", "ID",
         false, "", "", "network id; peers on another network are refused", nullptr,
         &Config::network});
    add({"profile", K::choice, "micronode", nullptr, 0, 0, "RON_DHT_PROFILE", "", "--profile",
         "NAME", false, "micronode|macronode", "",
         "micronode: RAM only, ephemeral identity, small limits; macronode: identity file, "
         "data_dir, large limits",
         nullptr, &Config::profile});
    add({"identity_file", K::path, "", nullptr, 0, 0, "RON_DHT_IDENTITY", "", "--identity", "FILE",
         false, "", "",
         "Ed25519 key file (created 0600 if missing); macronode default DATA_DIR/identity.key; "
         "unset in micronode "
         "means an ephemeral identity",
         nullptr, &Config::identity_file});
    add({"data_dir", K::path, "", "/var/lib/svc-dht", 0, 0, "RON_DHT_DATA_DIR", "", "--data-dir",
         "DIR", false, "", "", "directory for persistent state (macronode)", nullptr,
         &Config::data_dir});
    add({"admin_token_file", K::path, "", nullptr, 0, 0, "RON_DHT_ADMIN_TOKEN_FILE", "",
         "--admin-token-file", "FILE", true, "", "",
         "file holding the bearer token mutating admin requests need when admin_bind is not "
         "loopback",
         nullptr, &Config::admin_token_file});
    add({"log_format", K::choice, "text", nullptr, 0, 0, "RON_DHT_LOG_FORMAT", "", "--log-format",
         "FMT", true, "text|json", "", "log lines on stderr as text or JSON", nullptr,
         &Config::log_format});
    add({"log_level", K::choice, "info", nullptr, 0, 0, "RON_DHT_LOG_LEVEL", "", "--log-level",
         "LEVEL", true, "debug|info|warn|error", "", "least severe level logged", nullptr,
         &Config::log_level});
    add({"max_value_bytes", K::uint, "16384", nullptr, 64, 1048000, "RON_DHT_MAX_VALUE_BYTES", "",
         "--max-value-bytes", "N", true, "", "bytes",
         "largest value PUT_VALUE and POST /dht/put accept", &Config::max_value_bytes});
    add({"max_records", K::uint, "100000", "10000000", 16, 1000000000, "RON_DHT_MAX_RECORDS", "",
         "--max-records", "N", true, "", "", "provider records and values held at most",
         &Config::max_records});
    add({"max_store_bytes", K::uint, "67108864", "4294967296", 65536, 1099511627776ULL,
         "RON_DHT_MAX_STORE_BYTES", "", "--max-store-bytes", "N", true, "", "bytes",
         "memory the store may use at most", &Config::max_store_bytes});
    add({"store_peer_share_pct", K::uint, "10", nullptr, 1, 100, "RON_DHT_STORE_PEER_SHARE_PCT", "",
         "--store-peer-share-pct", "PCT", true, "", "%",
         "share of max_records and max_store_bytes that entries sent by one peer may hold",
         &Config::store_peer_share_pct});
    add({"store_prefix_share_pct", K::uint, "25", nullptr, 1, 100, "RON_DHT_STORE_PREFIX_SHARE_PCT",
         "", "--store-prefix-share-pct", "PCT", true, "", "%",
         "share of the store that entries sent from one IPv4 /24 or IPv6 /48 may hold (for "
         "loopback and private addresses, while diversity.exempt_private is on: from one host)",
         &Config::store_prefix_share_pct});
    add({"max_conns", K::uint, "512", nullptr, 8, 65536, "RON_DHT_MAX_CONNS", "", "--max-conns",
         "N", true, "", "",
         "authenticated peer sessions at most; beyond it the one idle longest is closed, "
         "non-contacts first",
         &Config::max_conns});
    add({"max_conns_per_ip", K::uint, "16", nullptr, 1, 65536, "RON_DHT_MAX_CONNS_PER_IP", "",
         "--max-conns-per-ip", "N", true, "", "",
         "peer connections from one IP address (IPv6: one conns_v6_prefix) at most; loopback "
         "exempt",
         &Config::max_conns_per_ip});
    add({"max_handshakes", K::uint, "0", nullptr, 0, 65536, "RON_DHT_MAX_HANDSHAKES", "",
         "--max-handshakes", "N", true, "", "",
         "inbound connections still handshaking at most; at the cap the oldest is cut (0: a "
         "quarter of max_conns, at least 8)",
         &Config::max_handshakes});
    add({"conns_v6_prefix", K::uint, "64", nullptr, 16, 128, "RON_DHT_CONNS_V6_PREFIX", "",
         "--conns-v6-prefix", "BITS", true, "", "bits",
         "IPv6 peers count against max_conns_per_ip by this prefix (one host holds a /64)",
         &Config::conns_v6_prefix});
    add({"max_reassembly_bytes", K::uint, "4194304", "67108864", 65536, 17179869184ULL,
         "RON_DHT_MAX_REASSEMBLY_BYTES", "", "--max-reassembly-bytes", "N", true, "", "bytes",
         "memory for partial frames of all sessions together; a session that would exceed it "
         "is closed",
         &Config::max_reassembly_bytes});
    add({"max_tx_queue_bytes", K::uint, "8388608", "134217728", 65536, 17179869184ULL,
         "RON_DHT_MAX_TX_QUEUE_BYTES", "", "--max-tx-queue-bytes", "N", true, "", "bytes",
         "memory for queued outgoing frames of all sessions together; beyond it frames are "
         "dropped and counted",
         &Config::max_tx_queue_bytes});
    add({"max_admin_conns", K::uint, "64", nullptr, 1, 4096, "RON_DHT_MAX_ADMIN_CONNS", "",
         "--max-admin-conns", "N", true, "", "", "admin HTTP connections at most",
         &Config::max_admin_conns});
    add({"idle_timeout_ms", K::uint, "60000", nullptr, 1000, 86400000, "RON_DHT_IDLE_TIMEOUT_MS",
         "", "--idle-timeout", "MS", true, "", "ms",
         "a session without traffic for this long is closed", &Config::idle_timeout_ms});
    add({"handshake_timeout_ms", K::uint, "2000", nullptr, 100, 60000,
         "RON_DHT_HANDSHAKE_TIMEOUT_MS", "", "--handshake-timeout", "MS", true, "", "ms",
         "HELLO and identity handshake must finish within this", &Config::handshake_timeout_ms});
    add({"k", K::uint, "20", nullptr, 2, 64, "RON_DHT_K", "", "--k", "N", false, "", "",
         "bucket size and lookup width", &Config::k});
    add({"alpha", K::uint, "3", nullptr, 1, 16, "RON_DHT_ALPHA", "DHT_ALPHA", "--alpha", "N", false,
         "", "", "lookup RPCs in flight", &Config::alpha});
    add({"beta", K::uint, "1", nullptr, 0, 16, "RON_DHT_BETA", "DHT_BETA", "--beta", "N", false, "",
         "", "hedges allowed for slow lookup RPCs (at most alpha)", &Config::beta});
    add({"disjoint", K::uint, "1", nullptr, 1, 8, "RON_DHT_DISJOINT", "", "--disjoint", "N", false,
         "", "", "disjoint lookup paths (S/Kademlia); more resists liars, costs more RPCs",
         &Config::disjoint});
    add({"replica", K::uint, "3", nullptr, 1, 20, "RON_DHT_REPLICA", "", "--replica", "N", false,
         "", "", "nodes a provide or put is stored on", &Config::replica});
    add({"rpc_timeout_ms", K::uint, "1500", nullptr, 50, 60000, "RON_DHT_TIMEOUT_MS",
         "DHT_MIN_LEG_BUDGET_MS", "--rpc-timeout", "MS", false, "", "ms",
         "an RPC unanswered this long after it was sent fails", &Config::rpc_timeout_ms});
    add({"hedge_after_ms", K::uint, "250", nullptr, 1, 60000, "RON_DHT_HEDGE_AFTER_MS",
         "DHT_HEDGE_STAGGER_MS", "--hedge-after", "MS", false, "", "ms",
         "a lookup RPC unanswered this long may be hedged", &Config::hedge_after_ms});
    add({"deadline_ms", K::uint, "5000", nullptr, 100, 600000, "RON_DHT_DEADLINE_MS",
         "DHT_DEADLINE_MS", "--deadline", "MS", false, "", "ms", "a whole lookup ends after this",
         &Config::deadline_ms});
    add({"hop_budget", K::uint, "6", nullptr, 1, 32, "RON_DHT_HOP_BUDGET", "DHT_HOP_BUDGET",
         "--hop-budget", "N", false, "", "", "routing hops a lookup may take",
         &Config::hop_budget});
    add({"ttl_secs", K::uint, "86400", nullptr, 1, 31536000, "RON_DHT_TTL_SECS",
         "DHT_DEFAULT_TTL_SECS", "--ttl", "S", false, "", "s",
         "lifetime of provides without an explicit ttl, and of stored values", &Config::ttl_secs});
    add({"max_ttl_secs", K::uint, "172800", nullptr, 1, 31536000, "RON_DHT_MAX_TTL_SECS", "",
         "--max-ttl", "S", false, "", "s", "longest record lifetime accepted",
         &Config::max_ttl_secs});
    add({"republish_secs", K::uint, "43200", nullptr, 60, 31536000, "RON_DHT_REPUBLISH_SECS", "",
         "--republish", "S", false, "", "s", "publishers and holders push records again this often",
         &Config::republish_secs});
    add({"refresh_secs", K::uint, "900", nullptr, 10, 86400, "RON_DHT_REFRESH_SECS", "",
         "--refresh", "S", false, "", "s",
         "a bucket untouched this long is refreshed with a lookup", &Config::refresh_secs});
    add({"peer_rate", K::uint, "200", nullptr, 1, 1000000, "RON_DHT_PEER_RATE", "", "--peer-rate",
         "N", true, "", "per s", "requests per second one peer may send before 1429 QuotaExceeded",
         &Config::peer_rate});
    add({"peer_burst", K::uint, "400", nullptr, 1, 1000000, "RON_DHT_PEER_BURST", "",
         "--peer-burst", "N", true, "", "", "burst of requests one peer may send at once",
         &Config::peer_burst});
    add({"node_rate", K::uint, "20000", nullptr, 1, 10000000, "RON_DHT_NODE_RATE", "",
         "--node-rate", "N", true, "", "per s",
         "requests per second the node answers from all peers together before 1501 Busy",
         &Config::node_rate});
    add({"max_inflight", K::uint, "4096", nullptr, 16, 1000000, "RON_DHT_MAX_INFLIGHT",
         "DHT_MAX_CONCURRENT_LEGS", "--max-inflight", "N", false, "", "",
         "RPCs in flight node-wide; beyond it queues are not ok", &Config::max_inflight});
    add({"max_lookups", K::uint, "256", nullptr, 1, 65536, "RON_DHT_MAX_LOOKUPS", "",
         "--max-lookups", "N", false, "", "",
         "API lookups and publishes running at once; more are refused", &Config::max_lookups});
    add({"require_pq", K::boolean, "false", nullptr, 0, 0, "RON_DHT_REQUIRE_PQ", "REQUIRE_PQ_ON",
         "--require-pq", "BOOL", false, "", "",
         "refuse provider records signed only with a classical algorithm (Ed25519); counted in "
         "dht_pq_downgrade_attempts_total"});
    t.back().b = &Config::require_pq;
    add({"diversity.per_prefix_max", K::uint, "2", nullptr, 1, 64,
         "RON_DHT_DIVERSITY_PER_PREFIX_MAX", "", "--diversity-per-prefix-max", "N", false, "", "",
         "contacts per bucket from one IPv4 /24 or IPv6 /48", &Config::per_prefix_max});
    add({"diversity.prefix_max_pct", K::uint, "20", nullptr, 1, 100,
         "RON_DHT_DIVERSITY_PREFIX_MAX_PCT", "", "--diversity-prefix-max-pct", "PCT", false, "",
         "%", "share of the routing table from one IPv4 /16 or IPv6 /32", &Config::prefix_max_pct});
    add({"diversity.exempt_private", K::boolean, "true", nullptr, 0, 0,
         "RON_DHT_DIVERSITY_EXEMPT_PRIVATE", "", "--diversity-exempt-private", "BOOL", false, "",
         "", "loopback and private addresses are not subject to the diversity caps"});
    t.back().b = &Config::exempt_private;
    return t;
}

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

const std::vector<KeyDef>& config_table() {
    static const std::vector<KeyDef> table = build_table();
    return table;
}

const KeyDef* find_key(const std::string& key) {
    for (const KeyDef& d : config_table())
        if (key == d.key) return &d;
    return nullptr;
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
    if (!c.config_file.empty()) o << " (file " << c.config_file << ")";
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
