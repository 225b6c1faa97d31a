// SPDX-License-Identifier: MIT
// Net: the peer network of a node on a libuv loop the caller owns. It runs the listener,
// the dialer and the connections (src/io/listener, dialer, conn), and Peers, which holds
// the sessions and drives the Node the caller built. Net itself keeps the loop-facing part:
// one deadline timer re-armed each loop turn, one flush per loop turn (a prepare handle:
// every session's queued bytes in one write), the routing of Peers' outputs, and the
// waiters of API requests. Nothing here decides anything about the protocol.
#pragma once

#include <uv.h>

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/dialer.h"
#include "io/listener.h"
#include "svcdht/node.h"
#include "svcdht/peers.h"

namespace svcdht::io {

class Conn;
struct WriteReq;

// RequestWaiter receives the result of an API request it asked Net to watch.
class RequestWaiter {
public:
    virtual ~RequestWaiter() = default;
    virtual void on_request_done(const core::RequestResult& r) = 0;
};

// FlushHook runs once per loop turn right before the turn's bytes are written: the Dht's
// group commit of the store, which releases the acknowledgements the node held for it.
class FlushHook {
public:
    virtual ~FlushHook() = default;
    // before_flush returns true when it gave the node an input (whose outputs Net routes).
    virtual bool before_flush() = 0;
};

struct NetOptions {
    std::string listen;              // empty: client mode, no listener (ping, lookup)
    std::vector<std::string> seeds;  // host:port, names resolved with getaddrinfo
    core::PeerLimits limits;
    // TCP Fast Open: dials send their first bytes in the SYN to a host that gave this
    // kernel a cookie before, and the listener takes such SYNs (when the kernel's
    // net.ipv4.tcp_fastopen allows each side). Off: plain connects and accepts.
    bool tcp_fastopen = true;
};

struct NetStats {  // for /metrics
    core::PeerStats peers;
    uint64_t accept_paused = 0, io_errors = 0;
    size_t rx_budget_used = 0, tx_budget_used = 0;
    // Connections whose SYN carried data the other side took (TCP Fast Open).
    uint64_t fastopen_dialed = 0, fastopen_accepted = 0;
};

class Net {
public:
    Net(uv_loop_t* uv, NetOptions opts, core::LogSink* log);
    ~Net();
    Net(const Net&) = delete;
    Net& operator=(const Net&) = delete;

    // bind binds the peer listener (unless client mode); on failure false with a message
    // (the daemon exits 3). The bound port is what the Node advertises.
    bool bind(std::string* err);
    uint16_t bound_port() const { return listener_.port(); }
    bool listener_bound() const { return listener_.bound(); }
    // start runs |node| on the network: sessions, seeds (resolved), timers. |node|, |scfg|
    // and |self| must outlive the Net.
    void start(core::Node& node, const core::SessionConfig& scfg, const core::Identity& self,
               core::Env env);

    core::Node& node() { return peers_->node(); }
    const core::Node& node() const { return peers_->node(); }
    const core::Peers& peers() const { return *peers_; }
    NetStats stats() const;

    // watch routes the result of request |id| (already issued on node()) to |w|; forget
    // drops every watch of |w| (its connection went away).
    void watch(core::RequestId id, RequestWaiter* w);
    void forget(RequestWaiter* w);
    // pump hands the Node's pending actions to the network: call it after any API call.
    void pump();

    void set_limits(const core::PeerLimits& limits);
    void set_flush_hook(FlushHook* h) { hook_ = h; }
    // stop_listening closes the listener (first step of a graceful stop); close_all closes
    // every connection and handle, after which uv_run returns once their callbacks ran.
    void stop_listening();
    void close_all();

    // ---- for the listener, the dialer and the connections ----
    uv_loop_t* uv() { return uv_; }
    core::Peers& peers_mut() { return *peers_; }
    Dialer& dialer() { return dialer_; }
    core::LogSink* log() { return log_; }
    bool closing_all() const { return closing_all_; }
    // rx_buffer is the one read buffer of every connection: reads are handled at once, so
    // a single 64 KiB buffer serves all of them (an edge board does not pay it per peer).
    uv_buf_t rx_buffer();
    void adopt(Conn* c);  // a new Conn (counted until conn_freed)
    void attach(Conn* c, core::PeerRef ref);
    void detach(core::PeerRef ref) { by_ref_.erase(ref); }
    void conn_closing(Conn* c);
    void conn_freed(Conn* c);
    void io_error() { ++io_errors_; }
    bool tcp_fastopen() const { return opts_.tcp_fastopen; }
    void fastopen_used(bool dialed) { ++(dialed ? fastopen_dialed_ : fastopen_accepted_); }
    void after_input();  // route Peers' outputs after an input from a callback
    // write_req hands out a write request, a finished one when there is one: under load a
    // turn writes once to each busy connection, and a request allocated per write was an
    // allocation per answer. recycle takes a request back once its write completed (its
    // bytes are freed; at most SPARE_WRITES requests are kept).
    static constexpr size_t SPARE_WRITES = 64;
    WriteReq* write_req();
    void recycle(WriteReq* w);

private:
    static void on_timer(uv_timer_t* t);
    static void on_prepare(uv_prepare_t* p);
    void route(const core::PeerEvent& e);
    void flush();
    void rearm();
    void cut_lingering();

    uv_loop_t* uv_;
    NetOptions opts_;
    core::LogSink* log_;
    Listener listener_;
    Dialer dialer_;
    std::unique_ptr<core::Peers> peers_;
    FlushHook* hook_ = nullptr;
    uv_timer_t timer_{};
    uv_prepare_t prepare_{};
    bool handles_open_ = false;
    bool closing_all_ = false;
    size_t conns_ = 0;  // Conns allocated and not yet freed
    uint64_t fastopen_dialed_ = 0, fastopen_accepted_ = 0;
    std::unordered_map<core::PeerRef, Conn*> by_ref_;
    std::vector<Conn*> lingering_;  // closing gracefully, cut after CLOSE_LINGER
    std::map<core::RequestId, RequestWaiter*> waiters_;
    std::vector<core::PeerRef> dirty_;
    std::vector<char> rx_buf_;
    std::vector<std::unique_ptr<WriteReq>> spare_writes_;
    uint64_t io_errors_ = 0;
};

}  // namespace svcdht::io
