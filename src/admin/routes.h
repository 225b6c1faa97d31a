// SPDX-License-Identifier: MIT
// The admin HTTP routes of DESIGN 5, as pure functions: (request, node view) -> a response,
// or a pending engine request whose result is rendered later by render_done(). No sockets:
// tests and the fuzzer call route() with a NodeView over a real (sans-IO) Node.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "admin/http.h"
#include "platform/proc.h"
#include "svcdht/node.h"
#include "svcdht/session.h"

namespace svcdht::admin {

struct Gates {
    bool listeners_bound = false;
    bool bootstrap = false;
    bool routing_ready = false;
    bool queues_ok = false;
    bool not_draining = true;
    uint32_t seeds_up = 0, seeds_required = 0, seeds_configured = 0;
    // Contacts saved by the last run and dialed at start (0 dialed: none, or amnesia).
    uint32_t warm_dialed = 0, warm_up = 0, warm_required = 0;
    bool degraded = false;  // read-only (POST /admin/degraded); not a gate
    bool ready() const {
        return listeners_bound && bootstrap && routing_ready && queues_ok && not_draining;
    }
};

struct NetMetrics {
    uint64_t sessions = 0, connections = 0;
    core::SessionStats session_stats;  // every session, open and closed, summed
    uint64_t accepted = 0, dialed = 0, accept_paused = 0, rejected_per_ip = 0, evicted_idle = 0,
             io_errors = 0;
    uint64_t fastopen_dialed = 0, fastopen_accepted = 0;
    uint64_t handshaking = 0, handshakes_evicted = 0, rx_budget_used = 0, tx_budget_used = 0;
    uint64_t admin_connections = 0, admin_rejected = 0;
    // The durable store (persistent false: amnesia, nothing on disk).
    bool persistent = false, writes_refused = false;
    uint64_t store_file_bytes = 0, persist_errors = 0, persist_dropped = 0;
    core::Histogram<10> commit_seconds;
};

struct AdminSettings {
    size_t max_value_bytes = 16384;
    bool require_token = false;  // admin_bind is not loopback
    uint64_t ttl_secs = 86400, max_ttl_secs = 172800;
    uint32_t max_lookups = 256;
};

struct BuildInfo {
    std::string version, git, build_ts, compiler;
    std::vector<std::string> features;
};
const BuildInfo& build_info();

// http_requests_total{route,method,status}: labels come from fixed sets (route templates,
// known methods, status codes), so the map stays small whatever clients send.
struct HttpMetrics {
    std::map<std::tuple<std::string, std::string, int>, uint64_t> requests;
    void count(const std::string& route, const std::string& method, int status);
};

// What an API request asks of the engine.
struct ApiCall {
    core::ApiOp op = core::ApiOp::closest;
    core::Key key;          // every op but put
    std::string addr;       // provide: the provider address
    uint64_t ttl_secs = 0;  // provide
    core::ByteView value;   // put: the value (valid while start() runs)
    std::string corr_id;    // the request's correlation id, on the engine's log lines
};

// ApiWaiter hears the result of a request it started.
class ApiWaiter {
public:
    virtual ~ApiWaiter() = default;
    virtual void on_request_done(const core::RequestResult& r) = 0;
};

// NodeView is all the admin plane sees of the daemon: read-only views of the engine, and
// one road to it, start(), for the API requests.
class NodeView {
public:
    virtual ~NodeView() = default;
    // The routing table, the store, the counters and readiness; never changed from here.
    virtual const core::Node& node() const = 0;
    virtual Gates gates() const = 0;
    virtual NetMetrics net_metrics() const = 0;
    virtual platform::ProcessStats process() const = 0;
    virtual const AdminSettings& settings() const = 0;
    virtual const std::string& admin_token() const = 0;
    virtual core::Time now() const = 0;
    // start issues |call| on the engine and returns its id; |w| hears the result, perhaps
    // before start returns (a local answer). forget drops every request |w| waits for.
    virtual core::RequestId start(const ApiCall& call, ApiWaiter* w) = 0;
    virtual void forget(ApiWaiter* w) = 0;
    // set_degraded switches read-only mode (POST /admin/degraded): the one change of the
    // node's state the admin plane makes outside start().
    virtual void set_degraded(bool on) = 0;
};

// What an API request waits for, and how to answer when it is done.
struct Pending {
    core::ApiOp kind = core::ApiOp::closest;
    core::RequestId id = 0;
    std::string cid;  // the key as the client wrote it
    uint64_t ttl_used = 0;
    bool json_value = false;  // get: answer JSON with the value in base64, not raw bytes
    ApiCall call;             // what to start (the route decided; the server starts it)
};

struct RouteResult {
    bool pending = false;
    Pending wait;
    HttpResponse response;
    std::string route;  // template for the metrics label, e.g. "/dht/get/{key}"
};

RouteResult route(const HttpRequest& req, NodeView& view, HttpMetrics& metrics);
HttpResponse render_done(const Pending& p, const core::RequestResult& r);
HttpResponse error_response(int status, std::string_view code, std::string_view detail);

// Correlation ids. accept_corr_id: a caller's X-Correlation-Id is taken when it is 1 to 64
// characters of A-Z a-z 0-9 . _ : - (anything else could forge log lines or fields, and a
// new id is made instead). make_corr_id: 16 hex characters, distinct within the process
// (a counter mixed with |seed|, a random value drawn at start).
bool accept_corr_id(std::string_view id);
std::string make_corr_id(uint64_t seed, uint64_t n);
// tag_response puts |corr_id| in the X-Correlation-Id header and, for a JSON object body, in
// a "corr_id" field: every answer carries it, errors included.
void tag_response(HttpResponse& r, std::string_view corr_id);

// render_metrics writes the Prometheus text exposition (format 0.0.4) of every metric of
// DESIGN 6, build info and process metrics.
std::string render_metrics(NodeView& view, const HttpMetrics& http);

}  // namespace svcdht::admin
