// SPDX-License-Identifier: MIT
// The daemon's configuration: one table of keys (name, type, default, clamp, environment
// name and aliases, flag, whether SIGHUP reloads it, help) that feeds the TOML file, the
// environment and command-line parsers, `--help`, `svc-dht config check`, and the test that
// keeps the man pages and packaging/svc-dht.conf in agreement with it.
// Precedence: flags > environment > file > built-in defaults (DESIGN 7).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace svcdht::daemon {

struct Config;

enum class KeyType : uint8_t { string, uint, boolean, address, address_list, path, choice };

struct KeyDef {
    const char* key = "";  // "max_conns", "diversity.per_prefix_max"
    KeyType type = KeyType::string;
    const char* def = "";             // default as text (micronode profile); "" = none
    const char* macro_def = nullptr;  // default under profile macronode, nullptr = same
    uint64_t min = 0, max = 0;        // clamp range for uint keys
    const char* env = "";             // RON_DHT_...
    const char* aliases = "";         // older environment names, space separated
    const char* flag = "";            // "--max-conns"
    const char* metavar = "";         // "N"
    bool reloadable = false;          // SIGHUP applies it
    const char* choices = "";         // for choice keys: "micronode|macronode"
    const char* unit = "";            // "ms", "s", "bytes", "" (for docs)
    const char* help = "";
    // exactly one of these points at the Config member the key sets
    uint64_t Config::*u = nullptr;
    std::string Config::*s = nullptr;
    bool Config::*b = nullptr;
    std::vector<std::string> Config::*l = nullptr;
};

// decimal<V> is V as a decimal string at compile time: a table default written from the
// engine's own constant, never copied by hand.
template <uint64_t V>
struct Decimal {
    static constexpr std::array<char, 21> chars = [] {
        std::array<char, 21> a{};
        char rev[21] = {};
        size_t n = 0;
        uint64_t v = V;
        do {
            rev[n++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        for (size_t i = 0; i < n; ++i) a[i] = rev[n - 1 - i];
        return a;
    }();
};
template <uint64_t V>
constexpr const char* decimal = Decimal<V>::chars.data();

const std::vector<KeyDef>& config_table();
// The lookup engine's rows of the table (config_engine_keys.cc), for config_table() only.
std::vector<KeyDef> engine_keys();
const KeyDef* find_key(const std::string& key);

struct Config {
    std::string listen, admin_bind, network, profile, identity_file, data_dir, admin_token_file;
    std::string log_format, log_level, config_file, durability;
    std::vector<std::string> bootstrap;
    uint64_t bootstrap_required = 0, bootstrap_timeout_ms = 0;
    bool strict_ready = false;
    bool amnesia = true;
    uint64_t sync_interval_ms = 0;
    uint64_t max_value_bytes = 0, max_records = 0, max_store_bytes = 0;
    uint64_t store_peer_share_pct = 0, store_prefix_share_pct = 0;
    uint64_t max_conns = 0, max_conns_per_ip = 0, max_admin_conns = 0;
    uint64_t max_handshakes = 0, conns_v6_prefix = 0, max_reassembly_bytes = 0,
             max_tx_queue_bytes = 0;
    uint64_t idle_timeout_ms = 0, handshake_timeout_ms = 0;
    uint64_t k = 0, alpha = 0, beta = 0, replica = 0, disjoint = 0, hop_budget = 0;
    uint64_t rpc_timeout_ms = 0, hedge_after_ms = 0, deadline_ms = 0;
    uint64_t ttl_secs = 0, max_ttl_secs = 0, republish_secs = 0, refresh_secs = 0;
    uint64_t peer_rate = 0, peer_burst = 0, node_rate = 0, max_inflight = 0, max_lookups = 0;
    uint64_t max_inflight_per_peer = 0;
    uint64_t node_write_rate = 0;
    uint64_t per_prefix_max = 0, prefix_max_pct = 0;
    bool exempt_private = true;
    bool require_pq = false;
    bool adaptive_hedge = false;
    bool adaptive_timeout = true;
    uint64_t warm_sessions = 0;
    bool tcp_fastopen = true;

    // For every key: where its value came from ("default", "file PATH", "env NAME",
    // "flag --x") and the effective value as text.
    std::map<std::string, std::string> source;
    std::map<std::string, std::string> text;
};

// A problem found while loading; |fatal| ones exit 2, the rest are warnings (clamps,
// deprecated aliases).
struct ConfigIssue {
    bool fatal;
    std::string message;
};

// Raw values by key before typing, each with its source.
struct RawValue {
    std::string value;
    std::string source;
};
using RawValues = std::map<std::string, std::vector<RawValue>>;

// load_config builds the effective configuration from the built-in defaults, the TOML
// file (--config or RON_DHT_CONFIG), the environment |envp| and the command-line flag
// values |flags| (key -> values, already matched to keys by the caller). It appends every
// issue to |issues| and returns false if any is fatal.
bool load_config(const RawValues& flags, const std::string& config_path, char** envp, Config* out,
                 std::vector<ConfigIssue>* issues);
// apply_config is load_config with the file already read into |file| (parse_toml), the
// path only naming it: the fuzzer drives the whole typing and clamping this way.
bool apply_config(const RawValues& flags, const RawValues& file, const std::string& config_path,
                  char** envp, Config* out, std::vector<ConfigIssue>* issues);

// read_toml parses a TOML config file into raw values. Unknown keys and values of the wrong
// shape are fatal issues naming the key; so is a file that is not a regular file or is over
// 1 MiB. parse_toml does the same for text already read (|path| names it in messages).
bool read_toml(const std::string& path, RawValues* out, std::vector<ConfigIssue>* issues);
bool parse_toml(std::string_view text, const std::string& path, RawValues* out,
                std::vector<ConfigIssue>* issues);

// parse_bool reads a boolean as the config accepts it: true/false, 1/0, yes/no, on/off
// (any case).
bool parse_bool(std::string s, bool* v);

// describe_config writes `svc-dht config check` output: every key, its effective value and
// its source, in table order.
std::string describe_config(const Config& c);

// options_help writes the options part of `svc-dht --help`, from the table.
std::string options_help();

// keys_tsv writes the table as tab-separated rows (`svc-dht config keys`), for the tools
// that generate and check the man pages and the default config file:
// key type default macronode_default min max env aliases flag metavar reloadable choices
// unit help.
std::string keys_tsv();

// reload_changes lists the reloadable keys whose value differs between |old_c| and |new_c|
// ("key: old -> new"), and the non-reloadable ones that changed and need a restart.
void reload_changes(const Config& old_c, const Config& new_c, std::vector<std::string>* applied,
                    std::vector<std::string>* need_restart);

}  // namespace svcdht::daemon
