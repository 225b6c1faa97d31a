// SPDX-License-Identifier: MIT
// svc-dht: the command line. Subcommands run (the daemon, default), keygen, config check,
// the one-shot clients (ping, lookup, get, put, provide, find-providers), store, admin,
// version; GNU long options from the config table; exit statuses 0 ok, 1
// failure (a client command that failed, or a forced stop), 2 bad configuration or usage,
// 3 bind failure, 4 not ready in time under --strict-ready (svc-dht(8)).
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "admin/routes.h"
#include "daemon/admin_cmd.h"
#include "daemon/client_cmd.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/identity.h"
#include "daemon/settings.h"
#include "daemon/store_cmd.h"
#include "io/addr.h"
#include "platform/log.h"
#include "svcdht/record.h"
#include "svcdht_build.h"

using namespace svcdht;
using namespace svcdht::daemon;
using platform::logger;
using platform::parse_level;

namespace {

const char* const USAGE =
    "usage: svc-dht [run] [OPTIONS]          run a DHT node (the default)\n"
    "       svc-dht keygen [--out FILE] [--force]\n"
    "       svc-dht config check [OPTIONS]   print the effective configuration and sources\n"
    "       svc-dht config keys              list the configuration keys (tab-separated)\n"
    "       svc-dht ping HOST:PORT [--network ID] [--timeout MS] [--json]\n"
    "       svc-dht lookup KEY --bootstrap HOST:PORT [--timeout MS] [--json]\n"
    "       svc-dht get KEY --bootstrap HOST:PORT [--json]\n"
    "       svc-dht put FILE|- --bootstrap HOST:PORT [--json]\n"
    "       svc-dht provide CID ADDR --bootstrap HOST:PORT [--ttl SECS] [--json]\n"
    "       svc-dht find-providers CID --bootstrap HOST:PORT [--json]\n"
    "       svc-dht store stats|check|dump [--data-dir DIR]\n"
    "       svc-dht admin degraded on|off [--admin ADDR]\n"
    "       svc-dht version\n"
    "       svc-dht COMMAND --help\n";

int usage_error(const std::string& what) {
    std::fprintf(stderr, "svc-dht: %s (try 'svc-dht --help')\n", what.c_str());
    return EXIT_CONFIG;
}

void print_run_help() {
    std::printf(
        "%s\nOptions (each also an environment variable and a config file key):\n"
        "  --config FILE                   TOML configuration file (RON_DHT_CONFIG); without\n"
        "                                  either, " SVCDHT_DEFAULT_CONFIG
        " if it exists\n"
        "%s"
        "  --help                          this help\n\n"
        "Precedence: flags > environment > config file > defaults. Signals: SIGTERM/SIGINT stop\n"
        "gracefully (a second one exits at once), SIGHUP reloads the reloadable keys.\n"
        "See svc-dht(8) and svc-dht.conf(5).\n",
        USAGE, options_help().c_str());
}

// Args holds what the command line said: config flag values (by key), --config, other
// options a subcommand accepts, and positionals.
struct Args {
    RawValues flags;
    std::string config_path;
    std::vector<std::string> positional;
    std::map<std::string, std::string> extra;  // --out, --force, --timeout
    bool help = false;
};

bool parse_args(int argc, char** argv, int start, const std::vector<std::string>& extra_opts,
                Args* a, std::string* err) {
    for (int i = start; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            a->help = true;
            continue;
        }
        if (arg.rfind("--", 0) != 0 || arg == "--") {
            if (arg.size() > 1 && arg[0] == '-') {
                *err = "unknown option " + arg;
                return false;
            }
            a->positional.push_back(arg);
            continue;
        }
        std::string name = arg, value;
        bool has_value = false;
        if (const size_t eq = arg.find('='); eq != std::string::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            has_value = true;
        }
        auto take = [&]() -> bool {
            if (has_value) return true;
            if (i + 1 >= argc) {
                *err = "option " + name + " needs a value";
                return false;
            }
            value = argv[++i];
            return true;
        };
        if (name == "--config") {
            if (!take()) return false;
            a->config_path = value;
            continue;
        }
        // A boolean option is "--flag", "--flag=BOOL" or "--flag BOOL": the next word is
        // taken only when it reads as a boolean, so "--flag" before another option or a
        // positional still means true.
        auto take_bool = [&]() -> bool {
            bool b;
            if (has_value) {
                if (!parse_bool(value, &b)) {
                    *err = "option " + name + " expects true or false, not '" + value + "'";
                    return false;
                }
            } else if (i + 1 < argc && parse_bool(argv[i + 1], &b)) {
                ++i;
            } else {
                b = true;
            }
            value = b ? "true" : "false";
            return true;
        };
        if (std::find(extra_opts.begin(), extra_opts.end(), name) != extra_opts.end()) {
            const bool boolean = name == "--force" || name == "--json";
            if (boolean ? !take_bool() : !take()) return false;
            a->extra[name] = value;
            continue;
        }
        const KeyDef* def = nullptr;
        for (const KeyDef& d : config_table())
            if (name == d.flag) def = &d;
        if (def == nullptr) {
            *err = "unknown option " + name;
            return false;
        }
        if (def->type == KeyType::boolean ? !take_bool() : !take()) return false;
        a->flags[def->key].push_back({value, "flag " + name});
    }
    return true;
}

// load reads the configuration. The file: --config FILE, else $RON_DHT_CONFIG (set and
// empty: no file), else the installed default (SVCDHT_DEFAULT_CONFIG) when it exists.
bool load(const Args& a, char** envp, Config* cfg, bool quiet_warnings) {
    std::string path = a.config_path;
    if (path.empty()) {
        if (const char* env = std::getenv("RON_DHT_CONFIG"); env != nullptr) {
            path = env;
        } else if (::access(SVCDHT_DEFAULT_CONFIG, F_OK) == 0) {
            path = SVCDHT_DEFAULT_CONFIG;
        }
    }
    std::vector<ConfigIssue> issues;
    const bool ok = load_config(a.flags, path, envp, cfg, &issues);
    for (const ConfigIssue& i : issues) {
        if (i.fatal || !quiet_warnings)
            std::fprintf(stderr, "svc-dht: config: %s\n", i.message.c_str());
    }
    return ok;
}

bool parse_timeout(const Args& a, uint64_t* ms) {
    auto it = a.extra.find("--timeout");
    if (it == a.extra.end()) return true;
    char* end = nullptr;
    *ms = std::strtoull(it->second.c_str(), &end, 10);
    return !it->second.empty() && *end == '\0' && *ms > 0;
}

// resolve_target turns HOST:PORT into an address (names through getaddrinfo).
bool resolve_target(const std::string& s, core::PeerAddr* out) {
    sockaddr_storage sa;
    if (io::parse_addr(s, &sa)) {
        *out = io::to_peer_addr(reinterpret_cast<sockaddr*>(&sa));
        return true;
    }
    const size_t colon = s.rfind(':');
    if (colon == std::string::npos) return false;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(s.substr(0, colon).c_str(), s.substr(colon + 1).c_str(), &hints, &res) != 0 ||
        res == nullptr)
        return false;
    *out = io::to_peer_addr(res->ai_addr);
    freeaddrinfo(res);
    return true;
}

int cmd_run(int argc, char** argv, int start, char** envp) {
    Args a;
    std::string err;
    if (!parse_args(argc, argv, start, {}, &a, &err)) return usage_error(err);
    if (a.help) {
        print_run_help();
        return EXIT_OK;
    }
    if (!a.positional.empty()) return usage_error("unexpected argument " + a.positional[0]);
    Config cfg;
    if (!load(a, envp, &cfg, false)) return EXIT_CONFIG;
    logger().configure(parse_level(cfg.log_level), cfg.log_format == "json");
    Daemon d(cfg, a.flags, cfg.config_file, envp);
    return d.run();
}

int cmd_config(int argc, char** argv, int start, char** envp) {
    if (start < argc && std::strcmp(argv[start], "keys") == 0) {
        std::fputs(keys_tsv().c_str(), stdout);
        return EXIT_OK;
    }
    if (start >= argc || std::strcmp(argv[start], "check") != 0) {
        if (start < argc &&
            (std::strcmp(argv[start], "--help") == 0 || std::strcmp(argv[start], "-h") == 0)) {
            std::printf(
                "usage: svc-dht config check [OPTIONS]\n  Load the configuration exactly as `run` "
                "would and "
                "print every key, its effective value and where it came from; exit 2 if it is "
                "invalid.\n");
            return EXIT_OK;
        }
        return usage_error("expected 'config check'");
    }
    Args a;
    std::string err;
    if (!parse_args(argc, argv, start + 1, {}, &a, &err)) return usage_error(err);
    if (a.help) {
        std::printf(
            "usage: svc-dht config check [OPTIONS]\n  Options as for svc-dht run (see svc-dht "
            "--help).\n");
        return EXIT_OK;
    }
    if (!a.positional.empty()) return usage_error("unexpected argument " + a.positional[0]);
    Config cfg;
    if (!load(a, envp, &cfg, false)) return EXIT_CONFIG;
    std::fputs(describe_config(cfg).c_str(), stdout);
    return EXIT_OK;
}

int cmd_keygen(int argc, char** argv, int start) {
    Args a;
    std::string err;
    if (!parse_args(argc, argv, start, {"--out", "--force"}, &a, &err)) return usage_error(err);
    if (a.help) {
        std::printf(
            "usage: svc-dht keygen [--out FILE] [--force]\n  Create an Ed25519 identity key file "
            "(mode 0600) "
            "and print the node id. Without --out the key file is written to standard output.\n");
        return EXIT_OK;
    }
    if (!a.positional.empty() || !a.flags.empty())
        return usage_error("keygen takes only --out and --force");
    if (!init()) return EXIT_FORCED;
    const core::Seed32 seed = random_seed();
    const core::NodeId id = id_of_seed(seed);
    auto out = a.extra.find("--out");
    if (out == a.extra.end()) {
        std::string hex(64, '0');
        core::hex_encode({seed.data(), seed.size()}, hex.data());
        std::printf("svc-dht-ed25519-seed-v1\n%s\n", hex.c_str());
        std::fprintf(stderr, "id %s\n", id.hex().c_str());
        return EXIT_OK;
    }
    const auto force = a.extra.find("--force");
    if (!write_key_file(out->second, seed, force != a.extra.end() && force->second == "true",
                        &err)) {
        std::fprintf(stderr, "svc-dht: keygen: %s\n", err.c_str());
        return EXIT_FORCED;
    }
    std::printf("wrote %s\nid %s\n", out->second.c_str(), id.hex().c_str());
    return EXIT_OK;
}

// The one-shot clients' usage lines and help texts, by command word.
struct ClientCmd {
    const char* word;
    ClientOp op;
    const char* usage;
    const char* help;
};
const ClientCmd CLIENT_CMDS[] = {
    {"ping", ClientOp::ping, "ping HOST:PORT [--network ID] [--timeout MS] [--json]",
     "Open an OAP/1 session (HELLO and identity handshake), send PING, and print the peer's\n"
     "  id, the address it observed for us, and the round trip."},
    {"lookup", ClientOp::lookup, "lookup KEY --bootstrap HOST:PORT [--timeout MS] [--json]",
     "Join through the seeds as a client (port 0), look KEY (b3:<64 hex> or 64 hex) up, and\n"
     "  print the closest nodes, the providers and the hop count."},
    {"get", ClientOp::get, "get KEY --bootstrap HOST:PORT [--timeout MS] [--json]",
     "Fetch the value stored under KEY (b3:<64 hex>) and write its bytes to standard output\n"
     "  (--json: the HTTP API's answer to GET /dht/get with Accept: application/json)."},
    {"put", ClientOp::put, "put FILE|- --bootstrap HOST:PORT [--timeout MS] [--json]",
     "Store the bytes of FILE (- for standard input, at most max_value_bytes) under their\n"
     "  BLAKE3 key on the closest nodes, and print the key."},
    {"provide", ClientOp::provide,
     "provide CID ADDR --bootstrap HOST:PORT [--ttl SECS] [--timeout MS] [--json]",
     "Publish a provider record, signed with the client's own key: ADDR (tcp://host:port,\n"
     "  ...) serves CID, for SECS seconds (default ttl_secs)."},
    {"find-providers", ClientOp::find_providers,
     "find-providers CID --bootstrap HOST:PORT [--timeout MS] [--json]",
     "Find the providers of CID and print each address, its time left and its publisher."},
};

// read_value reads FILE (or standard input for "-") up to |max| bytes; false with a
// message when it cannot be read, is empty or is larger.
bool read_value(const std::string& path, size_t max, std::string* out, std::string* err) {
    FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        *err = "cannot open " + path + ": " + std::strerror(errno);
        return false;
    }
    char buf[16384];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && out->size() <= max) out->append(buf, n);
    const bool failed = std::ferror(f) != 0;
    if (f != stdin) std::fclose(f);
    if (failed) {
        *err = "cannot read " + path;
    } else if (out->empty()) {
        *err = "the value is empty: nothing to put";
    } else if (out->size() > max) {
        *err = "the value is larger than max_value_bytes (" + std::to_string(max) + ")";
    } else {
        return true;
    }
    return false;
}

bool parse_key_arg(const std::string& k, bool allow_bare, core::Key* out, std::string* err) {
    auto r = allow_bare && k.rfind("b3:", 0) != 0 ? core::parse_hex_id(k) : core::parse_cid(k);
    if (!r.ok()) {
        *err = k + ": " + core::err_message(r.err());
        return false;
    }
    *out = *r;
    return true;
}

int cmd_client(const ClientCmd& cc, int argc, char** argv, int start, char** envp) {
    Args a;
    std::string err;
    if (!parse_args(argc, argv, start, {"--timeout", "--json", "--ttl"}, &a, &err))
        return usage_error(err);
    if (a.help) {
        std::printf(
            "usage: svc-dht %s\n  %s\n  Exit 0 when found (or stored), 1 when not found, "
            "not stored or unreachable,\n  2 on a usage error.\n",
            cc.usage, cc.help);
        return EXIT_OK;
    }
    ClientRequest req;
    req.op = cc.op;
    const size_t want = cc.op == ClientOp::provide ? 2 : 1;
    if (a.positional.size() != want) return usage_error(std::string("usage: svc-dht ") + cc.usage);
    if (a.extra.count("--ttl") != 0 && cc.op != ClientOp::provide)
        return usage_error("--ttl is for provide only");
    Config cfg;
    if (!load(a, envp, &cfg, true)) return EXIT_CONFIG;
    req.timeout_ms = cc.op == ClientOp::ping ? 5000 : 15000;
    if (!parse_timeout(a, &req.timeout_ms)) return usage_error("--timeout expects milliseconds");
    if (auto j = a.extra.find("--json"); j != a.extra.end()) req.json = j->second == "true";
    if (auto t = a.extra.find("--ttl"); t != a.extra.end()) {
        char* end = nullptr;
        req.ttl_secs = std::strtoull(t->second.c_str(), &end, 10);
        if (t->second.empty() || *end != '\0' || req.ttl_secs == 0)
            return usage_error("--ttl expects seconds (> 0)");
        if (req.ttl_secs > cfg.max_ttl_secs)
            return usage_error("--ttl is above max_ttl_secs (" + std::to_string(cfg.max_ttl_secs) +
                               ")");
    }
    const std::string& arg = a.positional[0];
    switch (cc.op) {
        case ClientOp::ping:
            if (!resolve_target(arg, &req.target)) return usage_error("cannot resolve " + arg);
            return run_client(req, cfg);
        case ClientOp::put:
            if (!read_value(arg, cfg.max_value_bytes, &req.value, &err)) return usage_error(err);
            break;
        case ClientOp::provide:
            req.addr = a.positional[1];
            if (!core::addr_valid(req.addr))
                return usage_error(
                    "ADDR: expected a URI with scheme tcp, quic, local, onion, "
                    "http or https, at most 256 bytes");
            [[fallthrough]];
        default:
            if (!parse_key_arg(arg, cc.op == ClientOp::lookup, &req.key, &err))
                return usage_error(err);
            req.key_text = arg;
    }
    if (cfg.bootstrap.empty())
        return usage_error(std::string(cc.word) + " needs --bootstrap HOST:PORT");
    return run_client(req, cfg);
}

int cmd_admin(int argc, char** argv, int start, char** envp) {
    Args a;
    std::string err;
    if (!parse_args(argc, argv, start, {"--timeout"}, &a, &err)) return usage_error(err);
    if (a.help) {
        std::printf(
            "usage: svc-dht admin degraded on|off [--admin ADDR] [--admin-token-file FILE]\n"
            "                                     [--config FILE] [--timeout MS]\n"
            "  Switch a running node's read-only mode (POST /admin/degraded): while on, new\n"
            "  stores are refused and lookups and reads serve. ADDR is admin_bind from the\n"
            "  configuration unless --admin names one; the token is admin_token_file's.\n"
            "  Exit 0 when the node answered 200, 1 otherwise.\n");
        return EXIT_OK;
    }
    if (a.positional.size() != 2 || a.positional[0] != "degraded" ||
        (a.positional[1] != "on" && a.positional[1] != "off"))
        return usage_error("admin: expected 'admin degraded on' or 'admin degraded off'");
    Config cfg;
    if (!load(a, envp, &cfg, true)) return EXIT_CONFIG;
    uint64_t timeout = 5000;
    if (!parse_timeout(a, &timeout)) return usage_error("--timeout expects milliseconds");
    std::string token;
    if (!read_admin_token(cfg.admin_token_file, &token, &err)) {
        std::fprintf(stderr, "svc-dht: %s\n", err.c_str());
        return EXIT_CONFIG;
    }
    return run_admin_degraded(a.positional[1] == "on", cfg.admin_bind, token,
                              static_cast<int>(timeout));
}

int cmd_store(int argc, char** argv, int start, char** envp) {
    const std::string verb = start < argc ? argv[start] : "";
    if (verb.empty() || verb == "--help" || verb == "-h") {
        std::printf(
            "usage: svc-dht store stats|check|dump [--data-dir DIR] [--config FILE]\n"
            "  Read a macronode's store on disk (DIR/store), while the daemon runs or not:\n"
            "  stats  entries, file size and the oldest and newest expiry\n"
            "  check  decode every entry and check every value's hash; exit 1 on a problem\n"
            "  dump   every record, value and contact as one JSON object per line\n"
            "  DIR is data_dir from the configuration unless --data-dir names one.\n");
        return verb.empty() ? EXIT_CONFIG : EXIT_OK;
    }
    Args a;
    std::string err;
    if (!parse_args(argc, argv, start + 1, {}, &a, &err)) return usage_error(err);
    if (!a.positional.empty()) return usage_error("unexpected argument " + a.positional[0]);
    Config cfg;
    if (!load(a, envp, &cfg, true)) return EXIT_CONFIG;
    if (cfg.data_dir.empty()) return usage_error("store: no data_dir (give --data-dir DIR)");
    return run_store_command(verb, cfg.data_dir);
}

}  // namespace

int main(int argc, char** argv, char** envp) {
    // libuv writes to sockets with write(): a peer that resets its connection while we
    // answer it would otherwise kill the process with SIGPIPE. EPIPE is handled per write.
    // Every subcommand gets this (run, ping and lookup touch sockets; the rest are cheap).
    std::signal(SIGPIPE, SIG_IGN);
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
        print_run_help();
        return EXIT_OK;
    }
    if (cmd == "version" || cmd == "--version") {
        if (argc > 2) return usage_error(std::string("unexpected argument ") + argv[2]);
        const admin::BuildInfo& b = admin::build_info();
        std::printf("svc-dht %s (git %s, built %s, %s)\n", b.version.c_str(), b.git.c_str(),
                    b.build_ts.c_str(), b.compiler.c_str());
        return EXIT_OK;
    }
    if (cmd == "run") return cmd_run(argc, argv, 2, envp);
    if (cmd == "config") return cmd_config(argc, argv, 2, envp);
    if (cmd == "keygen") return cmd_keygen(argc, argv, 2);
    if (cmd == "store") return cmd_store(argc, argv, 2, envp);
    if (cmd == "admin") return cmd_admin(argc, argv, 2, envp);
    for (const ClientCmd& cc : CLIENT_CMDS)
        if (cmd == cc.word) return cmd_client(cc, argc, argv, 2, envp);
    if (!cmd.empty() && cmd[0] != '-') return usage_error("unknown command " + cmd);
    return cmd_run(argc, argv, 1, envp);
}
