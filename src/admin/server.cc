// SPDX-License-Identifier: MIT
// Admin connections on libuv (see server.h). A Conn owns two handles (the TCP stream and
// its read timer) and is freed only when both close callbacks have run.
#include "admin/server.h"

#include <algorithm>
#include <cstdio>

#include "io/addr.h"

namespace svcdht::admin {

namespace {
// Unparsed input kept per connection: one request's worth of URL, headers and body, plus
// room for the start of the next pipelined one.
constexpr size_t ADMIN_MAX_INPUT = MAX_BODY + MAX_HEADERS + MAX_URL + 64 * 1024;
// After a response that closes the connection, the write side is shut and input is read
// and dropped for at most this long before the close: closing a socket that still has
// unread input sends a reset, which can destroy the response before the client reads it
// (a 413 while the client is still sending its body, a 503 at the connection cap).
constexpr uint64_t LINGER_MS = 2000;
// Connections accepted beyond max_admin_conns serve the probes only (/healthz, /readyz,
// /metrics), so that idle or slow clients holding every slot cannot make a liveness probe
// fail. At most this many; a newcomer beyond them displaces the oldest, and each must send
// its request within PROBE_READ_TIMEOUT_MS.
constexpr size_t PROBE_RESERVE = 8;
// Request bytes held by all admin connections together (unparsed input and bodies being
// received). Each connection may hold one 1 MiB body; this bounds them all, so 72 clients
// uploading at once cost 4 MiB, not 72. A read that would exceed it gets 503 and a close.
constexpr size_t ADMIN_INPUT_BUDGET = 4u << 20;
constexpr uint64_t PROBE_READ_TIMEOUT_MS = 2000;

bool is_probe(const HttpRequest& r) {
    if (r.method != "GET" && r.method != "HEAD") return false;
    const std::string p = r.path();
    return p == "/healthz" || p == "/readyz" || p == "/metrics";
}
}  // namespace

struct Server::Conn final : ApiWaiter {
    uv_tcp_t tcp{};
    uv_timer_t timer{};
    Server* server = nullptr;
    HttpParser parser;
    std::string input;
    std::string route_label;
    std::string method;
    std::string corr_id;      // of the request being answered
    uint64_t started_ns = 0;  // when it arrived (uv_hrtime)
    Pending pending;
    bool waiting = false;  // a route is waiting for the engine
    bool writing = false;
    bool closing = false;
    bool keep_alive = true;
    bool lingering = false;   // the closing response is out: input is dropped until EOF
    bool peer_eof = false;    // the client shut its side: answer what it sent, then close
    bool probe_only = false;  // accepted past max_admin_conns: probes only, then close
    size_t held = 0;          // request bytes this connection holds (in held_total_)

    // account updates |held| and the server's total after the input or request changed.
    void account() {
        const size_t now_held = input.size() + parser.request().body.size();
        server->held_total_ = server->held_total_ - held + now_held;
        held = now_held;
    }
    int open_handles = 2;
    uv_shutdown_t shutdown_req{};

    void on_request_done(const core::RequestResult& r) override;
    void process();
    void handle(const HttpRequest& req);
    void respond(HttpResponse resp);
    void begin_close();
    void linger();
    void arm_timer();
    static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
    static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
    static void on_write(uv_write_t* req, int status);
    static void on_timeout(uv_timer_t* t);
    static void on_shutdown(uv_shutdown_t* req, int status);
    static void on_closed(uv_handle_t* h);
};

namespace {
struct Write {
    uv_write_t req{};
    std::string data;
    Server::Conn* conn = nullptr;
};
}  // namespace

Server::Server(uv_loop_t* uv, NodeView& view, uint32_t max_conns, core::LogSink* log)
    : uv_(uv), view_(view), log_(log), max_conns_(max_conns) {
    // Without randomness the ids are still distinct, only guessable.
    if (uv_random(nullptr, nullptr, &corr_seed_, sizeof corr_seed_, 0, nullptr) != 0)
        corr_seed_ = uv_hrtime();
}

Server::~Server() = default;

bool Server::bind(const std::string& addr, std::string* err) {
    sockaddr_storage sa;
    if (!io::parse_addr(addr, &sa)) {
        *err = "admin address " + addr + " is not a numeric IP:PORT";
        return false;
    }
    const core::PeerAddr pa = io::to_peer_addr(reinterpret_cast<sockaddr*>(&sa));
    bool v6_loopback = pa.ip_len == 16 && pa.ip[15] == 1;
    for (size_t i = 0; i + 1 < 16 && v6_loopback; ++i) v6_loopback = pa.ip[i] == 0;
    loopback_ = (pa.ip_len == 4 && pa.ip[0] == 127) || v6_loopback;
    uv_tcp_init(uv_, &listener_);
    listener_.data = this;
    listener_open_ = true;
    int r = uv_tcp_bind(&listener_, reinterpret_cast<sockaddr*>(&sa), 0);
    if (r == 0) r = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 128, on_connection);
    if (r != 0) {
        *err = "cannot listen on " + addr + " (admin): " + uv_strerror(r);
        return false;
    }
    sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len);
    bound_port_ = io::to_peer_addr(reinterpret_cast<sockaddr*>(&bound)).port;
    return true;
}

size_t Server::waiting() const {
    size_t n = 0;
    for (const auto& c : conns_) n += c->waiting ? 1u : 0u;
    return n;
}

void Server::on_connection(uv_stream_t* listener, int status) {
    auto* self = static_cast<Server*>(listener->data);
    if (status < 0) {
        if (self->log_ != nullptr) {
            const core::LogField f[] = {{"error", uv_strerror(status)}};
            self->log_->log(core::LogLevel::warn, "admin accept failed", f);
        }
        return;
    }
    size_t general = 0, reserve = 0;
    Conn* oldest_reserve = nullptr;
    for (const auto& c : self->conns_) {
        if (c->closing) continue;
        if (!c->probe_only) {
            ++general;
        } else {
            ++reserve;
            if (oldest_reserve == nullptr) oldest_reserve = c.get();  // conns_ is in accept order
        }
    }
    const bool probe_only = general >= self->max_conns_;
    if (probe_only && reserve >= PROBE_RESERVE) {
        ++self->rejected_;
        oldest_reserve->begin_close();
    }
    auto c = std::make_unique<Conn>();
    Conn* conn = c.get();
    conn->server = self;
    conn->probe_only = probe_only;
    uv_tcp_init(self->uv_, &conn->tcp);
    uv_timer_init(self->uv_, &conn->timer);
    conn->tcp.data = conn;
    conn->timer.data = conn;
    self->conns_.push_back(std::move(c));
    if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&conn->tcp)) != 0) {
        conn->begin_close();
        return;
    }
    uv_read_start(reinterpret_cast<uv_stream_t*>(&conn->tcp), Conn::on_alloc, Conn::on_read);
    conn->arm_timer();
}

void Server::Conn::arm_timer() {
    uv_timer_start(&timer, on_timeout, probe_only ? PROBE_READ_TIMEOUT_MS : READ_TIMEOUT_MS, 0);
}

void Server::Conn::on_alloc(uv_handle_t*, size_t suggested, uv_buf_t* buf) {
    // Admin traffic is light: a plain heap buffer per read, freed in on_read.
    buf->base = new char[suggested];
    buf->len = suggested;
}

void Server::Conn::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
    auto* c = static_cast<Conn*>(s->data);
    if (c->lingering) {
        delete[] buf->base;
        if (nread < 0) {
            c->peer_eof = true;
            if (!c->writing) c->begin_close();
        }
        return;
    }
    if (nread > 0 && !c->closing) {
        if (c->input.size() + static_cast<size_t>(nread) > ADMIN_MAX_INPUT) {
            delete[] buf->base;
            HttpResponse r = error_response(413, "payload_too_large",
                                            "request larger than the admin plane accepts");
            r.close = true;
            c->keep_alive = false;
            c->respond(r);
            return;
        }
        if (c->server->held_total_ + static_cast<size_t>(nread) > ADMIN_INPUT_BUDGET) {
            delete[] buf->base;
            ++c->server->rejected_;
            HttpResponse r = error_response(503, "admin_busy",
                                            "too many request bytes in flight on the admin "
                                            "port; retry");
            r.close = true;
            r.headers.push_back({"Retry-After", "1"});
            c->keep_alive = false;
            c->respond(r);
            return;
        }
        c->input.append(buf->base, static_cast<size_t>(nread));
        c->account();
    }
    delete[] buf->base;
    if (nread == UV_EOF) {
        // A client may shut its write side after its last request (HTTP/1.0 style): the
        // requests it sent are still answered, then the connection closes.
        c->peer_eof = true;
        c->keep_alive = false;
        c->process();
        if (!c->waiting && !c->writing) c->begin_close();
        return;
    }
    if (nread < 0) {
        c->begin_close();
        return;
    }
    c->process();
}

void Server::Conn::process() {
    while (!waiting && !writing && !closing) {
        size_t used = 0;
        const HttpParser::Status st = parser.feed(input.data(), input.size(), &used);
        input.erase(0, used);
        account();
        if (st == HttpParser::Status::need_more) return;
        if (st == HttpParser::Status::error) {
            const int code = parser.error_status();
            const char* what = code == 414   ? "uri_too_long"
                               : code == 431 ? "headers_too_large"
                               : code == 413 ? "payload_too_large"
                                             : "bad_request";
            const char* detail = code == 414   ? "the URL is longer than 2 KiB"
                                 : code == 431 ? "the headers are larger than 16 KiB"
                                 : code == 413 ? "the body is larger than 1 MiB"
                                               : "malformed HTTP request";
            HttpResponse r = error_response(code, what, detail);
            r.close = true;
            keep_alive = false;
            route_label = "other";
            method = "OTHER";
            respond(r);
            return;
        }
        handle(parser.request());
        // Nothing reads the request after its route ran: give its body back at once.
        parser.release_request();
        account();
    }
}

void Server::Conn::handle(const HttpRequest& req) {
    uv_timer_stop(&timer);
    keep_alive = req.keep_alive && !peer_eof && !probe_only;
    method = req.method;
    started_ns = uv_hrtime();
    const std::string* theirs = req.header("x-correlation-id");
    corr_id = theirs != nullptr && accept_corr_id(*theirs)
                  ? *theirs
                  : make_corr_id(server->corr_seed_, server->corr_next_++);
    if (probe_only && !is_probe(req)) {
        ++server->rejected_;
        route_label = "other";
        HttpResponse r = error_response(503, "too_many_connections",
                                        "the admin connection limit is reached; only /healthz, "
                                        "/readyz and /metrics are served past it");
        r.close = true;
        respond(r);
        return;
    }
    RouteResult rr = route(req, server->view_, server->metrics_);
    route_label = rr.route;
    if (!rr.pending) {
        respond(rr.response);
        return;
    }
    waiting = true;
    pending = rr.wait;
    pending.call.corr_id = corr_id;
    // The result may come at once (a local hit), calling on_request_done from inside.
    pending.id = server->view_.start(pending.call, this);
}

void Server::Conn::on_request_done(const core::RequestResult& r) {
    if (!waiting || closing) return;
    waiting = false;
    respond(render_done(pending, r));
}

void Server::Conn::respond(HttpResponse resp) {
    // Answers to requests that never parsed (400, 408, 413...) get an id of their own.
    if (corr_id.empty()) {
        corr_id = make_corr_id(server->corr_seed_, server->corr_next_++);
        started_ns = uv_hrtime();
    }
    tag_response(resp, corr_id);
    if (server->log_ != nullptr && server->log_->enabled(core::LogLevel::debug)) {
        char elapsed[32];
        std::snprintf(elapsed, sizeof elapsed, "%.3f",
                      static_cast<double>(uv_hrtime() - started_ns) / 1e6);
        const std::string status = std::to_string(resp.status);
        const std::string_view route =
            route_label.empty() ? std::string_view("other") : std::string_view(route_label);
        const core::LogField f[] = {{"corr_id", corr_id},
                                    {"method", method},
                                    {"route", route},
                                    {"status", status},
                                    {"elapsed_ms", elapsed}};
        server->log_->log(core::LogLevel::debug, "http request", f);
    }
    corr_id.clear();
    server->metrics_.count(route_label.empty() ? "other" : route_label, method, resp.status);
    if (resp.close) keep_alive = false;
    // The last response of this connection: whatever else arrives is not read any more.
    if (!keep_alive) lingering = true;
    auto* w = new Write;
    w->conn = this;
    w->req.data = w;
    w->data = serialize(resp, keep_alive);
    writing = true;
    uv_buf_t b = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
    if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp), &b, 1, on_write) != 0) {
        delete w;
        writing = false;
        begin_close();
    }
}

void Server::Conn::on_write(uv_write_t* req, int status) {
    auto* w = static_cast<Write*>(req->data);
    Conn* c = w->conn;
    delete w;
    c->writing = false;
    if (status < 0) {
        c->begin_close();
        return;
    }
    if (!c->keep_alive) {
        c->linger();
        return;
    }
    if (c->closing) return;
    c->parser.resume();
    c->arm_timer();
    c->process();  // a pipelined request may already be buffered
}

void Server::Conn::on_timeout(uv_timer_t* t) {
    auto* c = static_cast<Conn*>(t->data);
    if (c->lingering && !c->writing) {
        c->begin_close();
        return;
    }
    if (c->waiting || c->writing || c->closing) return;
    // An idle keep-alive connection (nothing of a next request has arrived) is closed
    // silently: a 408 written to it would be read as the answer to the client's next
    // request. 408 is for a request that started and did not finish in time.
    if (!c->parser.in_progress() && c->input.empty()) {
        c->begin_close();
        return;
    }
    HttpResponse r = error_response(408, "request_timeout", "the request did not arrive in time");
    r.close = true;
    c->keep_alive = false;
    c->route_label = "other";
    c->method = "OTHER";
    c->respond(r);
}

void Server::Conn::linger() {
    if (closing) return;
    if (peer_eof) {  // nothing more will arrive: no reset to fear
        begin_close();
        return;
    }
    input.clear();  // lingering since respond(): nothing more is parsed
    shutdown_req.data = this;
    if (uv_shutdown(&shutdown_req, reinterpret_cast<uv_stream_t*>(&tcp), on_shutdown) != 0) {
        begin_close();
        return;
    }
    uv_timer_start(&timer, on_timeout, LINGER_MS, 0);
}

void Server::Conn::on_shutdown(uv_shutdown_t* req, int status) {
    // Called before the close callbacks, also when a close cancels it (UV_ECANCELED).
    if (status < 0) static_cast<Conn*>(req->data)->begin_close();
}

void Server::Conn::begin_close() {
    if (closing) return;
    closing = true;
    server->held_total_ -= held;
    held = 0;
    input.clear();
    if (waiting) server->view_.forget(this);
    waiting = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), on_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp), on_closed);
}

void Server::Conn::on_closed(uv_handle_t* h) {
    auto* c = static_cast<Conn*>(h->data);
    if (--c->open_handles == 0) c->server->closed(c);
}

void Server::closed(Conn* c) {
    conns_.erase(
        std::remove_if(conns_.begin(), conns_.end(), [&](const auto& p) { return p.get() == c; }),
        conns_.end());
}

void Server::on_listener_closed(uv_handle_t* h) {
    static_cast<Server*>(h->data)->listener_open_ = false;
}

void Server::close() {
    if (listener_open_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&listener_)))
        uv_close(reinterpret_cast<uv_handle_t*>(&listener_), on_listener_closed);
    std::vector<Conn*> all;
    for (auto& c : conns_) all.push_back(c.get());
    for (Conn* c : all) c->begin_close();
}

}  // namespace svcdht::admin
