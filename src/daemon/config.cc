// SPDX-License-Identifier: MIT
// The configuration table and the loader that applies defaults, the file, the environment
// and flags in that order, then types, clamps and cross-checks every value. The TOML reader
// lives in config_file.cc (toml++ is heavy to compile).
#include "daemon/config.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "svcdht/limits.h"

namespace svcdht::daemon {

namespace {

using K = KeyType;

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

std::vector<KeyDef> build_table() {
    // One row per key, every field named (config.h says what each means).
    std::vector<KeyDef> t = {
        {
            .key = "listen",
            .type = K::address,
            .def = "0.0.0.0:9444",
            .env = "RON_DHT_LISTEN",
            .flag = "--listen",
            .metavar = "ADDR",
            .help = "TCP address for OAP/1 peer sessions; [::]:PORT also accepts IPv4 where the "
                    "system allows",
            .s = &Config::listen,
        },
        {
            .key = "admin_bind",
            .type = K::address,
            .def = "127.0.0.1:5301",
            .env = "RON_DHT_ADMIN_BIND",
            .aliases = "DHT_ADMIN_BIND",
            .flag = "--admin",
            .metavar = "ADDR",
            .help = "HTTP address of the admin plane (/healthz, /readyz, /metrics, /dht/...)",
            .s = &Config::admin_bind,
        },
        {
            .key = "bootstrap",
            .type = K::address_list,
            .def = "",
            .env = "RON_DHT_BOOTSTRAP",
            .aliases = "DHT_SEEDS",
            .flag = "--bootstrap",
            .metavar = "HOST:PORT",
            .help = "seed nodes to join through; repeat the flag or separate with commas; none "
                    "runs standalone",
            .l = &Config::bootstrap,
        },
        {
            .key = "bootstrap_required",
            .type = K::uint,
            .def = "0",
            .max = 64,
            .env = "RON_DHT_BOOTSTRAP_REQUIRED",
            .flag = "--bootstrap-required",
            .metavar = "N",
            .help = "seeds that must authenticate before the bootstrap gate opens; 0 means min(3, "
                    "seeds)",
            .u = &Config::bootstrap_required,
        },
        {
            .key = "strict_ready",
            .type = K::boolean,
            .def = "false",
            .env = "RON_DHT_STRICT_READY",
            .flag = "--strict-ready",
            .metavar = "",
            .help = "exit with status 4 if not ready within bootstrap_timeout_ms",
            .b = &Config::strict_ready,
        },
        {
            .key = "bootstrap_timeout_ms",
            .type = K::uint,
            .def = "30000",
            .min = 1000,
            .max = 3600000,
            .env = "RON_DHT_BOOTSTRAP_TIMEOUT_MS",
            .flag = "--bootstrap-timeout",
            .metavar = "MS",
            .unit = "ms",
            .help = "how long strict_ready waits for readiness",
            .u = &Config::bootstrap_timeout_ms,
        },
        {
            .key = "network",
            .type = K::string,
            .def = "ron",
            .env = "RON_DHT_NETWORK",
            .flag = "--network",
            .metavar = "ID",
            .help = "network id; peers on another network are refused",
            .s = &Config::network,
        },
        {
            .key = "profile",
            .type = K::choice,
            .def = "micronode",
            .env = "RON_DHT_PROFILE",
            .flag = "--profile",
            .metavar = "NAME",
            .choices = "micronode|macronode",
            .help = "micronode: RAM only, ephemeral identity, small limits; macronode: identity "
                    "file, data_dir, large limits",
            .s = &Config::profile,
        },
        {
            .key = "identity_file",
            .type = K::path,
            .def = "",
            .env = "RON_DHT_IDENTITY",
            .flag = "--identity",
            .metavar = "FILE",
            .help = "Ed25519 key file (created 0600 if missing); macronode default "
                    "DATA_DIR/identity.key; unset in micronode means an ephemeral identity",
            .s = &Config::identity_file,
        },
        {
            .key = "data_dir",
            .type = K::path,
            .def = "",
            .macro_def = "/var/lib/svc-dht",
            .env = "RON_DHT_DATA_DIR",
            .flag = "--data-dir",
            .metavar = "DIR",
            .help = "directory for persistent state (macronode)",
            .s = &Config::data_dir,
        },
        {
            .key = "admin_token_file",
            .type = K::path,
            .def = "",
            .env = "RON_DHT_ADMIN_TOKEN_FILE",
            .flag = "--admin-token-file",
            .metavar = "FILE",
            .reloadable = true,
            .help = "file holding the bearer token mutating admin requests need when admin_bind is "
                    "not loopback",
            .s = &Config::admin_token_file,
        },
        {
            .key = "log_format",
            .type = K::choice,
            .def = "text",
            .env = "RON_DHT_LOG_FORMAT",
            .flag = "--log-format",
            .metavar = "FMT",
            .reloadable = true,
            .choices = "text|json",
            .help = "log lines on stderr as text or JSON",
            .s = &Config::log_format,
        },
        {
            .key = "log_level",
            .type = K::choice,
            .def = "info",
            .env = "RON_DHT_LOG_LEVEL",
            .flag = "--log-level",
            .metavar = "LEVEL",
            .reloadable = true,
            .choices = "debug|info|warn|error",
            .help = "least severe level logged",
            .s = &Config::log_level,
        },
        {
            .key = "max_value_bytes",
            .type = K::uint,
            .def = "16384",
            .min = 64,
            .max = 1048000,
            .env = "RON_DHT_MAX_VALUE_BYTES",
            .flag = "--max-value-bytes",
            .metavar = "N",
            .reloadable = true,
            .unit = "bytes",
            .help = "largest value PUT_VALUE and POST /dht/put accept",
            .u = &Config::max_value_bytes,
        },
        {
            .key = "max_records",
            .type = K::uint,
            .def = "100000",
            .macro_def = "10000000",
            .min = 16,
            .max = 1000000000,
            .env = "RON_DHT_MAX_RECORDS",
            .flag = "--max-records",
            .metavar = "N",
            .reloadable = true,
            .help = "provider records and values held at most",
            .u = &Config::max_records,
        },
        {
            .key = "max_store_bytes",
            .type = K::uint,
            .def = "67108864",
            .macro_def = "4294967296",
            .min = 65536,
            .max = 1099511627776ULL,
            .env = "RON_DHT_MAX_STORE_BYTES",
            .flag = "--max-store-bytes",
            .metavar = "N",
            .reloadable = true,
            .unit = "bytes",
            .help = "memory the store may use at most",
            .u = &Config::max_store_bytes,
        },
        {
            .key = "store_peer_share_pct",
            .type = K::uint,
            .def = "10",
            .min = 1,
            .max = 100,
            .env = "RON_DHT_STORE_PEER_SHARE_PCT",
            .flag = "--store-peer-share-pct",
            .metavar = "PCT",
            .reloadable = true,
            .unit = "%",
            .help =
                "share of max_records and max_store_bytes that entries sent by one peer may hold",
            .u = &Config::store_peer_share_pct,
        },
        {
            .key = "store_prefix_share_pct",
            .type = K::uint,
            .def = "25",
            .min = 1,
            .max = 100,
            .env = "RON_DHT_STORE_PREFIX_SHARE_PCT",
            .flag = "--store-prefix-share-pct",
            .metavar = "PCT",
            .reloadable = true,
            .unit = "%",
            .help = "share of the store that entries sent from one IPv4 /24 or IPv6 /48 may hold "
                    "(for loopback and private addresses, while diversity.exempt_private is on: "
                    "from one host)",
            .u = &Config::store_prefix_share_pct,
        },
        {
            .key = "max_conns",
            .type = K::uint,
            .def = "512",
            .min = 8,
            .max = 65536,
            .env = "RON_DHT_MAX_CONNS",
            .flag = "--max-conns",
            .metavar = "N",
            .reloadable = true,
            .help = "authenticated peer sessions at most; beyond it the one idle longest is "
                    "closed, non-contacts first",
            .u = &Config::max_conns,
        },
        {
            .key = "max_conns_per_ip",
            .type = K::uint,
            .def = "16",
            .min = 1,
            .max = 65536,
            .env = "RON_DHT_MAX_CONNS_PER_IP",
            .flag = "--max-conns-per-ip",
            .metavar = "N",
            .reloadable = true,
            .help = "peer connections from one IP address (IPv6: one conns_v6_prefix) at most; "
                    "loopback exempt",
            .u = &Config::max_conns_per_ip,
        },
        {
            .key = "max_handshakes",
            .type = K::uint,
            .def = "0",
            .max = 65536,
            .env = "RON_DHT_MAX_HANDSHAKES",
            .flag = "--max-handshakes",
            .metavar = "N",
            .reloadable = true,
            .help = "inbound connections still handshaking at most; at the cap the oldest is cut "
                    "(0: a quarter of max_conns, at least 8)",
            .u = &Config::max_handshakes,
        },
        {
            .key = "conns_v6_prefix",
            .type = K::uint,
            .def = "64",
            .min = 16,
            .max = 128,
            .env = "RON_DHT_CONNS_V6_PREFIX",
            .flag = "--conns-v6-prefix",
            .metavar = "BITS",
            .reloadable = true,
            .unit = "bits",
            .help =
                "IPv6 peers count against max_conns_per_ip by this prefix (one host holds a /64)",
            .u = &Config::conns_v6_prefix,
        },
        {
            .key = "max_reassembly_bytes",
            .type = K::uint,
            .def = "4194304",
            .macro_def = "67108864",
            .min = 65536,
            .max = 17179869184ULL,
            .env = "RON_DHT_MAX_REASSEMBLY_BYTES",
            .flag = "--max-reassembly-bytes",
            .metavar = "N",
            .reloadable = true,
            .unit = "bytes",
            .help = "memory for partial frames of all sessions together; a session that would "
                    "exceed it is closed",
            .u = &Config::max_reassembly_bytes,
        },
        {
            .key = "max_tx_queue_bytes",
            .type = K::uint,
            .def = "8388608",
            .macro_def = "134217728",
            .min = 65536,
            .max = 17179869184ULL,
            .env = "RON_DHT_MAX_TX_QUEUE_BYTES",
            .flag = "--max-tx-queue-bytes",
            .metavar = "N",
            .reloadable = true,
            .unit = "bytes",
            .help = "memory for queued outgoing frames of all sessions together; beyond it frames "
                    "are dropped and counted",
            .u = &Config::max_tx_queue_bytes,
        },
        {
            .key = "max_admin_conns",
            .type = K::uint,
            .def = "64",
            .min = 1,
            .max = 4096,
            .env = "RON_DHT_MAX_ADMIN_CONNS",
            .flag = "--max-admin-conns",
            .metavar = "N",
            .reloadable = true,
            .help = "admin HTTP connections at most",
            .u = &Config::max_admin_conns,
        },
        {
            .key = "idle_timeout_ms",
            .type = K::uint,
            .def = "60000",
            .min = 1000,
            .max = 86400000,
            .env = "RON_DHT_IDLE_TIMEOUT_MS",
            .flag = "--idle-timeout",
            .metavar = "MS",
            .reloadable = true,
            .unit = "ms",
            .help = "a session without traffic for this long is closed",
            .u = &Config::idle_timeout_ms,
        },
        {
            .key = "handshake_timeout_ms",
            .type = K::uint,
            .def = "2000",
            .min = 100,
            .max = 60000,
            .env = "RON_DHT_HANDSHAKE_TIMEOUT_MS",
            .flag = "--handshake-timeout",
            .metavar = "MS",
            .reloadable = true,
            .unit = "ms",
            .help = "HELLO and identity handshake must finish within this",
            .u = &Config::handshake_timeout_ms,
        },
        {
            .key = "k",
            .type = K::uint,
            .def = decimal<core::DEFAULT_K>,
            .min = core::K_RANGE.min,
            .max = core::K_RANGE.max,
            .env = "RON_DHT_K",
            .flag = "--k",
            .metavar = "N",
            .help = "bucket size and lookup width",
            .u = &Config::k,
        },
        {
            .key = "alpha",
            .type = K::uint,
            .def = decimal<core::DEFAULT_ALPHA>,
            .min = core::ALPHA_RANGE.min,
            .max = core::ALPHA_RANGE.max,
            .env = "RON_DHT_ALPHA",
            .aliases = "DHT_ALPHA",
            .flag = "--alpha",
            .metavar = "N",
            .help = "lookup RPCs in flight",
            .u = &Config::alpha,
        },
        {
            .key = "beta",
            .type = K::uint,
            .def = decimal<core::DEFAULT_BETA>,
            .min = core::BETA_RANGE.min,
            .max = core::BETA_RANGE.max,
            .env = "RON_DHT_BETA",
            .aliases = "DHT_BETA",
            .flag = "--beta",
            .metavar = "N",
            .help = "hedges allowed for slow lookup RPCs (at most alpha)",
            .u = &Config::beta,
        },
        {
            .key = "disjoint",
            .type = K::uint,
            .def = decimal<core::DEFAULT_DISJOINT>,
            .min = core::DISJOINT_RANGE.min,
            .max = core::DISJOINT_RANGE.max,
            .env = "RON_DHT_DISJOINT",
            .flag = "--disjoint",
            .metavar = "N",
            .help = "disjoint lookup paths (S/Kademlia); more resists liars, costs more RPCs",
            .u = &Config::disjoint,
        },
        {
            .key = "replica",
            .type = K::uint,
            .def = decimal<core::DEFAULT_REPLICA>,
            .min = core::REPLICA_RANGE.min,
            .max = core::REPLICA_RANGE.max,
            .env = "RON_DHT_REPLICA",
            .flag = "--replica",
            .metavar = "N",
            .help = "nodes a provide or put is stored on",
            .u = &Config::replica,
        },
        {
            .key = "rpc_timeout_ms",
            .type = K::uint,
            .def = decimal<core::DEFAULT_RPC_TIMEOUT_MS>,
            .min = core::RPC_TIMEOUT_MS_RANGE.min,
            .max = core::RPC_TIMEOUT_MS_RANGE.max,
            .env = "RON_DHT_TIMEOUT_MS",
            .aliases = "DHT_MIN_LEG_BUDGET_MS",
            .flag = "--rpc-timeout",
            .metavar = "MS",
            .unit = "ms",
            .help = "an RPC unanswered this long after it was sent fails",
            .u = &Config::rpc_timeout_ms,
        },
        {
            .key = "hedge_after_ms",
            .type = K::uint,
            .def = decimal<core::DEFAULT_HEDGE_AFTER_MS>,
            .min = core::HEDGE_AFTER_MS_RANGE.min,
            .max = core::HEDGE_AFTER_MS_RANGE.max,
            .env = "RON_DHT_HEDGE_AFTER_MS",
            .aliases = "DHT_HEDGE_STAGGER_MS",
            .flag = "--hedge-after",
            .metavar = "MS",
            .unit = "ms",
            .help = "a lookup RPC unanswered this long may be hedged",
            .u = &Config::hedge_after_ms,
        },
        {
            .key = "deadline_ms",
            .type = K::uint,
            .def = decimal<core::DEFAULT_DEADLINE_MS>,
            .min = core::DEADLINE_MS_RANGE.min,
            .max = core::DEADLINE_MS_RANGE.max,
            .env = "RON_DHT_DEADLINE_MS",
            .aliases = "DHT_DEADLINE_MS",
            .flag = "--deadline",
            .metavar = "MS",
            .unit = "ms",
            .help = "a whole lookup ends after this",
            .u = &Config::deadline_ms,
        },
        {
            .key = "hop_budget",
            .type = K::uint,
            .def = decimal<core::DEFAULT_HOP_BUDGET>,
            .min = core::HOP_BUDGET_RANGE.min,
            .max = core::HOP_BUDGET_RANGE.max,
            .env = "RON_DHT_HOP_BUDGET",
            .aliases = "DHT_HOP_BUDGET",
            .flag = "--hop-budget",
            .metavar = "N",
            .help = "routing hops a lookup may take",
            .u = &Config::hop_budget,
        },
        {
            .key = "ttl_secs",
            .type = K::uint,
            .def = "86400",
            .min = 1,
            .max = 31536000,
            .env = "RON_DHT_TTL_SECS",
            .aliases = "DHT_DEFAULT_TTL_SECS",
            .flag = "--ttl",
            .metavar = "S",
            .unit = "s",
            .help = "lifetime of provides without an explicit ttl, and of stored values",
            .u = &Config::ttl_secs,
        },
        {
            .key = "max_ttl_secs",
            .type = K::uint,
            .def = "172800",
            .min = 1,
            .max = 31536000,
            .env = "RON_DHT_MAX_TTL_SECS",
            .flag = "--max-ttl",
            .metavar = "S",
            .unit = "s",
            .help = "longest record lifetime accepted",
            .u = &Config::max_ttl_secs,
        },
        {
            .key = "republish_secs",
            .type = K::uint,
            .def = "43200",
            .min = 60,
            .max = 31536000,
            .env = "RON_DHT_REPUBLISH_SECS",
            .flag = "--republish",
            .metavar = "S",
            .unit = "s",
            .help = "publishers and holders push records again this often",
            .u = &Config::republish_secs,
        },
        {
            .key = "refresh_secs",
            .type = K::uint,
            .def = "900",
            .min = 10,
            .max = 86400,
            .env = "RON_DHT_REFRESH_SECS",
            .flag = "--refresh",
            .metavar = "S",
            .unit = "s",
            .help = "a bucket untouched this long is refreshed with a lookup",
            .u = &Config::refresh_secs,
        },
        {
            .key = "peer_rate",
            .type = K::uint,
            .def = "200",
            .min = 1,
            .max = 1000000,
            .env = "RON_DHT_PEER_RATE",
            .flag = "--peer-rate",
            .metavar = "N",
            .reloadable = true,
            .unit = "per s",
            .help = "requests per second one peer may send before 1429 QuotaExceeded",
            .u = &Config::peer_rate,
        },
        {
            .key = "peer_burst",
            .type = K::uint,
            .def = "400",
            .min = 1,
            .max = 1000000,
            .env = "RON_DHT_PEER_BURST",
            .flag = "--peer-burst",
            .metavar = "N",
            .reloadable = true,
            .help = "burst of requests one peer may send at once",
            .u = &Config::peer_burst,
        },
        {
            .key = "node_rate",
            .type = K::uint,
            .def = "20000",
            .min = 1,
            .max = 10000000,
            .env = "RON_DHT_NODE_RATE",
            .flag = "--node-rate",
            .metavar = "N",
            .reloadable = true,
            .unit = "per s",
            .help = "requests per second the node answers from all peers together before 1501 Busy",
            .u = &Config::node_rate,
        },
        {
            .key = "max_inflight",
            .type = K::uint,
            .def = "4096",
            .min = 16,
            .max = 1000000,
            .env = "RON_DHT_MAX_INFLIGHT",
            .aliases = "DHT_MAX_CONCURRENT_LEGS",
            .flag = "--max-inflight",
            .metavar = "N",
            .help = "RPCs in flight node-wide; beyond it queues are not ok",
            .u = &Config::max_inflight,
        },
        {
            .key = "max_lookups",
            .type = K::uint,
            .def = "256",
            .min = 1,
            .max = 65536,
            .env = "RON_DHT_MAX_LOOKUPS",
            .flag = "--max-lookups",
            .metavar = "N",
            .help = "API lookups and publishes running at once; more are refused",
            .u = &Config::max_lookups,
        },
        {
            .key = "require_pq",
            .type = K::boolean,
            .def = "false",
            .env = "RON_DHT_REQUIRE_PQ",
            .aliases = "REQUIRE_PQ_ON",
            .flag = "--require-pq",
            .metavar = "BOOL",
            .help = "refuse provider records signed only with a classical algorithm (Ed25519); "
                    "counted in dht_pq_downgrade_attempts_total",
            .b = &Config::require_pq,
        },
        {
            .key = "diversity.per_prefix_max",
            .type = K::uint,
            .def = "2",
            .min = 1,
            .max = 64,
            .env = "RON_DHT_DIVERSITY_PER_PREFIX_MAX",
            .flag = "--diversity-per-prefix-max",
            .metavar = "N",
            .help = "contacts per bucket from one IPv4 /24 or IPv6 /48",
            .u = &Config::per_prefix_max,
        },
        {
            .key = "diversity.prefix_max_pct",
            .type = K::uint,
            .def = "20",
            .min = 1,
            .max = 100,
            .env = "RON_DHT_DIVERSITY_PREFIX_MAX_PCT",
            .flag = "--diversity-prefix-max-pct",
            .metavar = "PCT",
            .unit = "%",
            .help = "share of the routing table from one IPv4 /16 or IPv6 /32",
            .u = &Config::prefix_max_pct,
        },
        {
            .key = "diversity.exempt_private",
            .type = K::boolean,
            .def = "true",
            .env = "RON_DHT_DIVERSITY_EXEMPT_PRIVATE",
            .flag = "--diversity-exempt-private",
            .metavar = "BOOL",
            .help = "loopback and private addresses are not subject to the diversity caps",
            .b = &Config::exempt_private,
        },
    };
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
