// SPDX-License-Identifier: MIT
// The configuration table: every key once, as a row of designated initializers (name,
// type, default, range, environment name and aliases, flag, reloadable, help). Here the
// process, network, admin, store and session keys; the lookup engine's keys are in
// config_engine_keys.cc. Everything else about the configuration (loading, precedence,
// checks, help text) is in config.cc.
#include "daemon/config.h"
#include "svcdht/limits.h"

namespace svcdht::daemon {

namespace {

using K = KeyType;

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
            .key = "tcp_fastopen",
            .type = K::boolean,
            .def = "true",
            .env = "RON_DHT_TCP_FASTOPEN",
            .flag = "--tcp-fastopen",
            .metavar = "BOOL",
            .help = "TCP Fast Open: a dial to a peer host seen before sends its first bytes in "
                    "the SYN, and the listener takes such SYNs; each side also needs the kernel "
                    "to allow it (sysctl net.ipv4.tcp_fastopen: 1 dialing, 2 listening, 3 both)",
            .b = &Config::tcp_fastopen,
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
            .key = "amnesia",
            .type = K::boolean,
            .def = "true",
            .macro_def = "false",
            .env = "RON_AMNESIA",
            .flag = "--amnesia",
            .metavar = "BOOL",
            .help = "keep records, values and contacts in RAM only and write no file; false "
                    "keeps them in DATA_DIR/store across restarts and crashes",
            .b = &Config::amnesia,
        },
        {
            .key = "durability",
            .type = K::choice,
            .def = "batched",
            .env = "RON_DHT_DURABILITY",
            .flag = "--durability",
            .metavar = "MODE",
            .choices = "sync|batched",
            .help = "when amnesia is off: sync acknowledges a write once it is on the disk; "
                    "batched once the kernel holds it (a power loss may lose sync_interval_ms, or "
                    "the store: "
                    "svc-dht(8), PERSISTENCE)",
            .s = &Config::durability,
        },
        {
            .key = "sync_interval_ms",
            .type = K::uint,
            .def = "1000",
            .min = 10,
            .max = 60000,
            .env = "RON_DHT_SYNC_INTERVAL_MS",
            .flag = "--sync-interval",
            .metavar = "MS",
            .unit = "ms",
            .help = "batched durability: committed writes reach the disk at least this often",
            .u = &Config::sync_interval_ms,
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
            .def = decimal<core::DEFAULT_MAX_VALUE_BYTES>,
            .min = core::MAX_VALUE_BYTES_RANGE.min,
            .max = core::MAX_VALUE_BYTES_RANGE.max,
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
    };
    // The engine's keys follow, in their own file (config_engine_keys.cc).
    std::vector<KeyDef> engine = engine_keys();
    t.insert(t.end(), engine.begin(), engine.end());
    return t;
}

}  // namespace

const std::vector<KeyDef>& config_table() {
    static const std::vector<KeyDef> table = build_table();
    return table;
}

const KeyDef* find_key(const std::string& key) {
    for (const KeyDef& d : config_table())
        if (key == d.key) return &d;
    return nullptr;
}

}  // namespace svcdht::daemon
