// SPDX-License-Identifier: MIT
// load: the single-node RPC capacity driver (W3 of the cluster workload). It opens many OAP/1
// sessions to ONE node with the project's own Session (HELLO, Ed25519 ident/auth, frames) and
// message codec, keeps a fixed number of FIND_NODE or GET_VALUE requests in flight on each,
// and reports answers per second, the node's CPU time per answer (from /proc/PID/stat) and,
// when the node runs under the allocation-counting shim (alloc_count.c), its allocations per
// answer. It asserts nothing. One thread, one epoll loop; every wait has a deadline.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "platform/sodium.h"
#include "svcdht/blake3.h"
#include "svcdht/message.h"
#include "svcdht/session.h"

using namespace svcdht;
using namespace svcdht::core;

namespace {

// Bounds of every wait, so that a node that stops answering ends the run with a message
// instead of hanging it.
constexpr Time CONNECT_DEADLINE = 10'000'000;  // all sessions authenticated
constexpr Time PUT_DEADLINE = 20'000'000;      // the values GET_VALUE asks for are stored
constexpr uint32_t MAX_SESSIONS = 1024;
constexpr uint32_t MAX_DEPTH = 256;
constexpr size_t READ_CHUNK = 64 * 1024;
// Rids of PUT_VALUE requests: this base plus the value's index (other requests count up
// from 1 per session and never get near it).
constexpr uint64_t PUT_RID_BASE = 1ULL << 40;

volatile sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

Time now_us() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<Time>(ts.tv_sec) * 1'000'000 + static_cast<Time>(ts.tv_nsec) / 1000;
}

struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    long pid = 0;  // the node's process, for its CPU time
    uint32_t sessions = 64;
    uint32_t depth = 8;  // requests in flight per session
    double seconds = 10;
    double warmup = 1;
    std::string op = "find_node";  // find_node | get_value
    uint32_t values = 256;         // get_value: values put first, then asked for
    std::string network = "ron";
    std::string alloc_file;  // the shim's counter file (alloc_count.c), if the node runs under it
    bool json = false;
};

void usage(FILE* f) {
    std::fputs(
        "usage: load --addr 127.0.0.1:PORT --pid PID [--sessions 64] [--depth 8]\n"
        "            [--seconds 10] [--warmup 1] [--op find_node|get_value] [--values 256]\n"
        "            [--network ron] [--alloc-file FILE] [--json]\n"
        "Drives one svc-dht node over OAP/1 with pipelined requests and reports answers/s,\n"
        "the node's CPU microseconds per answer (/proc/PID/stat) and, with --alloc-file, the\n"
        "node's allocations per answer (the node must run with "
        "LD_PRELOAD=libsvcdht_alloc_count.so\n"
        "and SVCDHT_ALLOC_COUNT_FILE=FILE).\n",
        f);
}

// Node CPU time (user + system) in microseconds, from the 14th and 15th fields of
// /proc/PID/stat (after the parenthesised command name, which may hold spaces).
bool proc_cpu_us(long pid, uint64_t* out) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE* f = std::fopen(path, "r");
    if (f == nullptr) return false;
    char buf[1024];
    const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    const char* p = std::strrchr(buf, ')');
    if (p == nullptr) return false;
    ++p;
    // Fields after the name: state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt
    // majflt cmajflt utime(14) stime(15).
    unsigned long long utime = 0, stime = 0;
    if (std::sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) !=
        2)
        return false;
    const long hz = sysconf(_SC_CLK_TCK);
    *out = (utime + stime) * 1'000'000ULL / static_cast<unsigned long long>(hz);
    return true;
}

// The shim's shared counters: [0] allocations (malloc, calloc, realloc, memalign family),
// [1] frees. Mapped read-only; the node's process writes them.
struct AllocCounter {
    const volatile uint64_t* words = nullptr;
    bool open(const std::string& path) {
        const int fd = ::open(path.c_str(), O_RDONLY);
        if (fd < 0) return false;
        void* p = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
        ::close(fd);
        if (p == MAP_FAILED) return false;
        words = static_cast<const volatile uint64_t*>(p);
        return true;
    }
    uint64_t allocs() const {
        return words != nullptr ? __atomic_load_n(&words[0], __ATOMIC_RELAXED) : 0;
    }
};

struct Conn {
    int fd = -1;
    std::unique_ptr<Session> session;
    Bytes out;       // bytes taken from the session, being written
    size_t off = 0;  // how much of |out| the socket took
    bool want_out = false;
    uint32_t inflight = 0;
    uint64_t next_rid = 1;
    bool open = false;
    bool closed = false;
};

struct Tally {
    uint64_t answered = 0;  // code ok, or not_found for GET_VALUE: the node did the work
    uint64_t found = 0;     // GET_VALUE answers carrying the value
    uint64_t refused = 0;   // quota_exceeded, busy, not_ready and other codes
    uint64_t bad = 0;       // undecodable payloads
    uint64_t sent = 0;
    uint64_t dropped = 0;  // send_data refused (our own TX queue full)
};

class Driver {
public:
    Driver(const Options& o, const Crypto& crypto, Rng& rng) : o_(o), crypto_(crypto), rng_(rng) {
        scfg_.network = o.network;
        scfg_.listen_port = 0;  // a client: the node answers, never adds us to its table
        scfg_.idle_timeout = 3600'000'000ULL;
        scfg_.handshake_timeout = CONNECT_DEADLINE;
        scfg_.tx_max_frames = 4 * MAX_DEPTH;
        scfg_.tx_max_bytes = 1 << 20;
    }

    bool connect_all() {
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) return fail("epoll_create1");
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(o_.port);
        if (inet_pton(AF_INET, o_.host.c_str(), &sa.sin_addr) != 1) return fail("bad address");
        ids_.resize(o_.sessions);
        conns_.resize(o_.sessions);
        for (uint32_t i = 0; i < o_.sessions; ++i) {
            // One identity per session: 64 distinct clients, as 64 peers would be.
            Seed32 seed{};
            rng_.fill(seed.data(), seed.size());
            ids_[i] = make_identity(crypto_, seed);
            Conn& c = conns_[i];
            c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (c.fd < 0) return fail("socket");
            const int one = 1;
            setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 &&
                errno != EINPROGRESS)
                return fail("connect");
            Env env{&rng_, &crypto_, nullptr};
            c.session = std::make_unique<Session>(scfg_, ids_[i], env, now_us());
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLOUT;
            ev.data.u32 = i;
            c.want_out = true;
            if (epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) != 0) return fail("epoll_ctl");
        }
        const Time end = now_us() + CONNECT_DEADLINE;
        while (opened_ < o_.sessions && !g_stop) {
            if (now_us() > end) {
                std::fprintf(stderr, "load: %u of %u sessions authenticated within %" PRIu64 " s\n",
                             opened_, o_.sessions, CONNECT_DEADLINE / 1'000'000);
                return false;
            }
            if (!turn(10)) return false;
        }
        return !g_stop;
    }

    // put_values stores |o_.values| random values on the node (PUT_VALUE, key = BLAKE3 of
    // the value), so that GET_VALUE measures the path that finds one.
    bool put_values() {
        phase_ = Phase::put;
        values_.resize(o_.values);
        keys_.resize(o_.values);
        for (uint32_t i = 0; i < o_.values; ++i) {
            values_[i].resize(64);
            rng_.fill(values_[i].data(), values_[i].size());
            keys_[i] = NodeId::from(blake3(values_[i]));
        }
        put_next_ = 0;
        const Time end = now_us() + PUT_DEADLINE;
        while (put_acked_ < o_.values && !g_stop) {
            for (Conn& c : conns_) top_up(c);
            if (now_us() > end) {
                std::fprintf(stderr, "load: %u of %u values stored within %" PRIu64 " s\n",
                             put_acked_, o_.values, PUT_DEADLINE / 1'000'000);
                return false;
            }
            if (!turn(10)) return false;
        }
        return !g_stop;
    }

    // run keeps every session at |depth| requests in flight for |seconds| of wall time.
    bool run(double seconds, Tally* t) {
        phase_ = o_.op == "get_value" ? Phase::get_value : Phase::find_node;
        tally_ = Tally{};
        const Time end = now_us() + static_cast<Time>(seconds * 1e6);
        while (now_us() < end && !g_stop) {
            for (Conn& c : conns_) top_up(c);
            if (!turn(1)) return false;
        }
        *t = tally_;
        return !g_stop;
    }

    // drain stops sending and waits (bounded) for the answers still in flight, so the next
    // phase's counts only hold its own answers.
    void drain() {
        phase_ = Phase::idle;
        const Time end = now_us() + 2'000'000;
        while (now_us() < end && !g_stop) {
            uint64_t inflight = 0;
            for (const Conn& c : conns_) inflight += c.closed ? 0 : c.inflight;
            if (inflight == 0) break;
            if (!turn(5)) break;
        }
    }

    void close_all() {
        for (Conn& c : conns_)
            if (c.fd >= 0) {
                ::close(c.fd);
                c.fd = -1;
            }
        if (ep_ >= 0) ::close(ep_);
        ep_ = -1;
    }

    uint32_t closed_sessions() const {
        uint32_t n = 0;
        for (const Conn& c : conns_) n += c.closed ? 1 : 0;
        return n;
    }

private:
    enum class Phase { idle, put, find_node, get_value };

    bool fail(const char* what) {
        std::fprintf(stderr, "load: %s: %s\n", what, std::strerror(errno));
        return false;
    }

    void top_up(Conn& c) {
        if (!c.open || c.closed) return;
        const Time now = now_us();
        bool queued = false;
        while (c.inflight < o_.depth) {
            DhtMsg m;
            m.f = MsgFlag::request;
            m.rid = c.next_rid++;
            if (phase_ == Phase::put) {
                uint32_t idx = 0;
                if (!retry_.empty()) {
                    idx = retry_.back();
                    retry_.pop_back();
                } else if (put_next_ < o_.values) {
                    idx = put_next_++;
                } else {
                    break;
                }
                // The rid names the value, so that a refused put can be sent again.
                m.rid = PUT_RID_BASE + idx;
                m.op = Op::put_value;
                m.has_key = m.has_val = true;
                m.key = keys_[idx];
                m.val = values_[idx];
            } else if (phase_ == Phase::find_node) {
                m.op = Op::find_node;
                m.has_target = true;
                rng_.fill(m.target.b.data(), m.target.b.size());
            } else if (phase_ == Phase::get_value) {
                m.op = Op::get_value;
                m.has_key = true;
                m.key = keys_[get_next_++ % keys_.size()];
            } else {
                break;
            }
            buf_.clear();
            encode_dht(m, buf_);
            if (c.session->send_data(buf_, now) != Err::ok) {
                ++tally_.dropped;
                break;
            }
            ++c.inflight;
            ++tally_.sent;
            queued = true;
        }
        if (queued) flush(c);
    }

    void flush(Conn& c) {
        for (int guard = 0; guard < 64; ++guard) {
            if (c.off == c.out.size()) {
                if (c.off > 0) c.session->tx_done(c.out.size());
                c.out.clear();
                c.off = 0;
                if (!c.session->has_tx()) break;
                c.session->take_tx(&c.out);
            }
            const ssize_t w = ::write(c.fd, c.out.data() + c.off, c.out.size() - c.off);
            if (w < 0) {
                if (errno == EAGAIN || errno == EINTR) break;
                close_conn(c, "write");
                return;
            }
            c.off += static_cast<size_t>(w);
        }
        const bool want = c.off < c.out.size() || c.session->has_tx();
        if (want != c.want_out) {
            epoll_event ev{};
            ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
            ev.data.u32 = static_cast<uint32_t>(&c - conns_.data());
            epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
            c.want_out = want;
        }
    }

    void close_conn(Conn& c, const char* why) {
        if (c.closed) return;
        c.closed = true;
        if (c.open) --opened_;
        c.open = false;
        std::fprintf(stderr, "load: session %td closed (%s)\n", &c - conns_.data(), why);
        epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    }

    void on_data(Conn& c, ByteView payload) {
        DhtMsg m;
        DecodeHeader h;
        if (decode_dht(payload, DEFAULT_MAX_VALUE_BYTES, &m, &h) != Err::ok) {
            ++tally_.bad;
            return;
        }
        if (m.is_request()) return;  // the node does not ask a client anything it must answer
        if (c.inflight > 0) --c.inflight;
        const bool done =
            m.code == Code::ok || (m.op == Op::get_value && m.code == Code::not_found);
        if (m.op == Op::put_value) {
            if (m.code == Code::ok) {
                ++put_acked_;
            } else if (m.rid >= PUT_RID_BASE && m.rid - PUT_RID_BASE < o_.values) {
                // Refused (busy or quota): send it again; the put deadline bounds the retries.
                retry_.push_back(static_cast<uint32_t>(m.rid - PUT_RID_BASE));
            }
        }
        if (done) {
            ++tally_.answered;
            if (m.op == Op::get_value && m.has_val) ++tally_.found;
        } else {
            ++tally_.refused;
        }
    }

    void on_readable(Conn& c) {
        for (int guard = 0; guard < 16; ++guard) {
            const ssize_t r = ::read(c.fd, rbuf_, sizeof rbuf_);
            if (r == 0) return close_conn(c, "peer closed");
            if (r < 0) {
                if (errno == EAGAIN || errno == EINTR) break;
                return close_conn(c, "read");
            }
            ByteView in(rbuf_, static_cast<size_t>(r));
            while (!in.empty()) {
                SessionEvent ev;
                const size_t used = c.session->recv(in, now_us(), &ev);
                in = in.subspan(used);
                if (ev.type == SessionEvent::Type::opened) {
                    c.open = true;
                    ++opened_;
                } else if (ev.type == SessionEvent::Type::data) {
                    on_data(c, ev.payload);
                } else if (ev.type == SessionEvent::Type::closed) {
                    return close_conn(c, err_name(ev.err));
                }
                if (used == 0 && ev.type == SessionEvent::Type::none) break;
            }
            c.session->recv_done();
            if (static_cast<size_t>(r) < sizeof rbuf_) break;
        }
        flush(c);  // the handshake's auth, or nothing
    }

    bool turn(int timeout_ms) {
        epoll_event evs[64];
        const int n = epoll_wait(ep_, evs, 64, timeout_ms);
        if (n < 0 && errno != EINTR) return fail("epoll_wait");
        for (int i = 0; i < n; ++i) {
            Conn& c = conns_[evs[i].data.u32];
            if (c.closed) continue;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
            if (!c.closed && (evs[i].events & EPOLLOUT)) flush(c);
        }
        if (opened_ + closed_sessions() < o_.sessions) {
            // The handshake deadline lives in the sessions: let them time out.
            const Time now = now_us();
            for (Conn& c : conns_) {
                if (c.closed || c.open || c.session->next_deadline() > now) continue;
                SessionEvent ev;
                c.session->on_timer(now, &ev);
                if (ev.type == SessionEvent::Type::closed) close_conn(c, err_name(ev.err));
            }
        }
        if (closed_sessions() == o_.sessions) {
            std::fprintf(stderr, "load: every session closed\n");
            return false;
        }
        return true;
    }

    const Options& o_;
    const Crypto& crypto_;
    Rng& rng_;
    SessionConfig scfg_;
    std::vector<Identity> ids_;
    std::vector<Conn> conns_;
    int ep_ = -1;
    uint32_t opened_ = 0;
    Phase phase_ = Phase::idle;
    std::vector<Bytes> values_;
    std::vector<Key> keys_;
    std::vector<uint32_t> retry_;
    uint32_t put_next_ = 0, put_acked_ = 0;
    uint64_t get_next_ = 0;
    Tally tally_;
    Bytes buf_;
    uint8_t rbuf_[READ_CHUNK];
};

bool parse_args(int argc, char** argv, Options* o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto val = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        const char* v = nullptr;
        if (a == "--json") {
            o->json = true;
            continue;
        }
        if (a == "-h" || a == "--help") {
            usage(stdout);
            std::exit(0);
        }
        if ((v = val()) == nullptr) return false;
        if (a == "--addr") {
            const std::string s = v;
            const size_t colon = s.rfind(':');
            if (colon == std::string::npos) return false;
            o->host = s.substr(0, colon);
            o->port = static_cast<uint16_t>(std::strtoul(s.c_str() + colon + 1, nullptr, 10));
        } else if (a == "--pid") {
            o->pid = std::strtol(v, nullptr, 10);
        } else if (a == "--sessions") {
            o->sessions = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
        } else if (a == "--depth") {
            o->depth = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
        } else if (a == "--seconds") {
            o->seconds = std::strtod(v, nullptr);
        } else if (a == "--warmup") {
            o->warmup = std::strtod(v, nullptr);
        } else if (a == "--op") {
            o->op = v;
        } else if (a == "--values") {
            o->values = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
        } else if (a == "--network") {
            o->network = v;
        } else if (a == "--alloc-file") {
            o->alloc_file = v;
        } else {
            return false;
        }
    }
    return o->port != 0 && o->pid > 0 && o->sessions >= 1 && o->sessions <= MAX_SESSIONS &&
           o->depth >= 1 && o->depth <= MAX_DEPTH && o->seconds > 0 && o->seconds <= 600 &&
           o->warmup >= 0 && o->warmup <= 60 && (o->op == "find_node" || o->op == "get_value") &&
           o->values >= 1 && o->values <= 100000;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse_args(argc, argv, &o)) {
        usage(stderr);
        return 2;
    }
    if (!platform::platform_init()) {
        std::fprintf(stderr, "load: libsodium failed to initialise\n");
        return 1;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    AllocCounter allocs;
    if (!o.alloc_file.empty() && !allocs.open(o.alloc_file)) {
        std::fprintf(stderr, "load: cannot map %s: %s\n", o.alloc_file.c_str(),
                     std::strerror(errno));
        return 1;
    }
    uint64_t cpu0 = 0;
    if (!proc_cpu_us(o.pid, &cpu0)) {
        std::fprintf(stderr, "load: cannot read /proc/%ld/stat\n", o.pid);
        return 1;
    }

    platform::SodiumCrypto crypto;
    platform::SystemRng rng;
    auto d = std::make_unique<Driver>(o, crypto, rng);
    bool ok = d->connect_all();
    if (ok && o.op == "get_value") ok = d->put_values();
    Tally warm, t;
    if (ok && o.warmup > 0) ok = d->run(o.warmup, &warm);
    uint64_t cpu_a = 0, cpu_b = 0;
    const uint64_t alloc_a = allocs.allocs();
    ok = ok && proc_cpu_us(o.pid, &cpu_a);
    const Time t0 = now_us();
    ok = ok && d->run(o.seconds, &t);
    const Time t1 = now_us();
    const uint64_t alloc_b = allocs.allocs();
    ok = ok && proc_cpu_us(o.pid, &cpu_b);
    d->drain();
    const uint32_t lost = d->closed_sessions();
    d->close_all();
    if (!ok) return 1;

    const double wall = static_cast<double>(t1 - t0) / 1e6;
    const double rate = static_cast<double>(t.answered) / wall;
    const double cpu_s = static_cast<double>(cpu_b - cpu_a) / 1e6;
    const double cpu_per =
        t.answered ? static_cast<double>(cpu_b - cpu_a) / static_cast<double>(t.answered) : 0;
    const double alloc_per =
        t.answered ? static_cast<double>(alloc_b - alloc_a) / static_cast<double>(t.answered) : 0;
    if (o.json) {
        std::printf(
            "{\"op\":\"%s\",\"sessions\":%u,\"depth\":%u,\"seconds\":%.3f,\"answered\":%" PRIu64
            ",\"found\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"undecodable\":%" PRIu64
            ",\"send_dropped\":%" PRIu64
            ",\"sessions_lost\":%u,\"replies_per_s\":%.0f,"
            "\"node_cpu_s\":%.3f,\"node_cpu_share\":%.3f,\"node_cpu_us_per_reply\":%.3f,",
            o.op.c_str(), o.sessions, o.depth, wall, t.answered, t.found, t.refused, t.bad,
            t.dropped, lost, rate, cpu_s, cpu_s / wall, cpu_per);
        if (allocs.words != nullptr)
            std::printf("\"node_allocs\":%" PRIu64 ",\"node_allocs_per_reply\":%.3f}\n",
                        alloc_b - alloc_a, alloc_per);
        else
            std::printf("\"node_allocs\":null,\"node_allocs_per_reply\":null}\n");
    } else {
        std::printf("%s: %u sessions x %u in flight, %.1f s: %" PRIu64 " answers (%" PRIu64
                    " refused), %.0f/s; node CPU %.2f s (%.0f%% of a core), %.2f us per answer",
                    o.op.c_str(), o.sessions, o.depth, wall, t.answered, t.refused, rate, cpu_s,
                    100 * cpu_s / wall, cpu_per);
        if (allocs.words != nullptr) std::printf(", %.2f allocations per answer", alloc_per);
        std::printf("\n");
    }
    return 0;
}
