// SPDX-License-Identifier: MIT
// Admin routes (see routes.h): validation with precise 400s, bearer-token checks on
// mutating endpoints, readiness gating and load shedding, and JSON rendering of results.
// Request bodies are parsed with jansson.
#include "admin/routes.h"

#include <jansson.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "admin/json.h"
#include "svcdht/blake3.h"
#include "svcdht/record.h"

namespace svcdht::admin {

using core::Err;

namespace {

constexpr const char* RETRY_AFTER_S = "2";
// Debug listings stop here unless ?limit= asks for more (up to MAX_LIST).
constexpr size_t DEFAULT_LIST = 1000;
constexpr size_t MAX_LIST = 100000;

HttpResponse json(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

bool const_time_equal(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

std::string cid_of(const core::Key& k) {
    return k.cid();
}

// parse_key accepts "b3:<64 hex>" (and, for node ids, bare 64 hex). On failure it writes the
// 400 response naming |field|.
bool parse_key(const std::string& text, const char* field, bool allow_bare, core::Key* out,
               HttpResponse* err) {
    auto r =
        allow_bare && text.rfind("b3:", 0) != 0 ? core::parse_hex_id(text) : core::parse_cid(text);
    if (r.ok()) {
        *out = *r;
        return true;
    }
    std::string detail =
        std::string(field) + ": expected \"b3:\" followed by 64 lowercase hex characters";
    if (r.err() == Err::bad_hex_length) {
        const size_t n = text.rfind("b3:", 0) == 0 ? text.size() - 3 : text.size();
        detail += " (got " + std::to_string(n) + " characters)";
    } else if (r.err() == Err::bad_hex_char) {
        detail += " (found a character outside 0-9a-f)";
    } else if (r.err() == Err::bad_cid_prefix) {
        detail += " (the prefix b3: is missing)";
    }
    *err = error_response(400, "bad_" + std::string(field), detail);
    return false;
}

std::string peer_hex(const core::PublicKey& pk) {
    return core::node_id_of(pk).hex();
}

uint64_t query_uint(const std::string& url, const char* name, uint64_t def) {
    const size_t q = url.find('?');
    if (q == std::string::npos) return def;
    const std::string needle = std::string(name) + "=";
    size_t pos = url.find(needle, q);
    if (pos == std::string::npos) return def;
    pos += needle.size();
    uint64_t v = 0;
    bool any = false;
    while (pos < url.size() && url[pos] >= '0' && url[pos] <= '9' && v < MAX_LIST) {
        v = v * 10 + static_cast<uint64_t>(url[pos++] - '0');
        any = true;
    }
    return any ? v : def;
}

HttpResponse readyz(NodeView& v) {
    const Gates g = v.gates();
    JsonWriter w;
    w.begin_object().kv("ready", g.ready()).kv("degraded", g.degraded);
    w.key("missing").begin_array();
    if (!g.listeners_bound) w.str("listeners_bound");
    if (!g.bootstrap) w.str("bootstrap");
    if (!g.routing_ready) w.str("routing_ready");
    if (!g.queues_ok) w.str("queues_ok");
    if (!g.not_draining) w.str("not_draining");
    w.end_array();
    w.key("gates").begin_object();
    w.kv("listeners_bound", g.listeners_bound)
        .kv("bootstrap", g.bootstrap)
        .kv("routing_ready", g.routing_ready);
    w.kv("queues_ok", g.queues_ok).kv("not_draining", g.not_draining).end_object();
    w.key("seeds").begin_object();
    w.kv("up", uint64_t{g.seeds_up}).kv("required", uint64_t{g.seeds_required});
    w.kv("configured", uint64_t{g.seeds_configured}).end_object();
    if (g.warm_dialed > 0) {
        w.key("warm").begin_object();
        w.kv("dialed", uint64_t{g.warm_dialed}).kv("up", uint64_t{g.warm_up});
        w.kv("required", uint64_t{g.warm_required}).end_object();
    }
    if (g.seeds_configured == 0)
        w.key("warnings")
            .begin_array()
            .str("no bootstrap seeds configured: standalone")
            .end_array();
    w.end_object();
    HttpResponse r = json(g.ready() ? 200 : 503, w.take());
    if (!g.ready()) r.headers.push_back({"Retry-After", RETRY_AFTER_S});
    return r;
}

HttpResponse version() {
    const BuildInfo& b = build_info();
    JsonWriter w;
    w.begin_object().kv("service", "svc-dht").kv("version", b.version).kv("git", b.git);
    w.kv("build_ts", b.build_ts).kv("compiler", b.compiler);
    w.key("features").begin_array();
    for (const auto& f : b.features) w.str(f);
    w.end_array().end_object();
    return json(200, w.take());
}

HttpResponse peers(NodeView& v) {
    const core::RoutingTable& t = v.node().table();
    const core::Time now = v.now();
    JsonWriter w;
    w.begin_object();
    w.key("self")
        .begin_object()
        .kv("id", v.node().id().hex())
        .kv("port", uint64_t{v.node().config().listen_port});
    w.end_object();
    w.kv("count", uint64_t{t.size()});
    w.key("peers").begin_array();
    for (int b = 0; b < t.bucket_count(); ++b) {
        for (const core::Contact& c : t.bucket(b)) {
            w.begin_object()
                .kv("id", c.id.hex())
                .kv("addr", c.addr.format())
                .kv("bucket", static_cast<uint64_t>(b));
            w.key("rtt_ms").num(static_cast<double>(c.rtt_us) / 1000.0);
            w.kv("last_seen_s", core::to_secs(now > c.last_seen ? now - c.last_seen : 0));
            w.kv("fails", uint64_t{c.fails}).end_object();
        }
    }
    w.end_array().end_object();
    return json(200, w.take());
}

HttpResponse debug_list(NodeView& v, const std::string& url) {
    const core::Time now = v.now();
    std::vector<core::StoreEntryInfo> snap;
    v.node().store().snapshot(now, snap);
    const size_t limit = std::min<size_t>(query_uint(url, "limit", DEFAULT_LIST), MAX_LIST);
    JsonWriter w;
    w.begin_object().kv("count", uint64_t{snap.size()}).kv("truncated", snap.size() > limit);
    w.key("entries").begin_array();
    for (size_t i = 0; i < snap.size() && i < limit; ++i) {
        const core::StoreEntryInfo& e = snap[i];
        const uint64_t left = core::to_secs(e.expires > now ? e.expires - now : 0);
        w.begin_object();
        if (e.is_value) {
            w.kv("kind", "value").kv("key", cid_of(e.key)).kv("bytes", uint64_t{e.value_len});
        } else {
            w.kv("kind", "provider")
                .kv("cid", cid_of(e.key))
                .kv("publisher", peer_hex(e.publisher));
            w.key("addrs").begin_array();
            for (const auto& a : e.addrs) w.str(a);
            w.end_array();
        }
        w.kv("secs_left", left).end_object();
    }
    w.end_array().end_object();
    return json(200, w.take());
}

// check_token enforces the bearer token on mutating endpoints when the admin plane is not
// bound to loopback, and with |strict| (operator switches) whenever a token is configured.
bool check_token(const HttpRequest& req, NodeView& v, HttpResponse* out, bool strict = false) {
    if (!v.settings().require_token && !(strict && !v.admin_token().empty())) return true;
    const std::string& token = v.admin_token();
    const std::string* auth = req.header("authorization");
    std::string detail;
    if (token.empty()) {
        detail =
            "admin_bind is not loopback and no admin_token_file is configured: mutations are "
            "refused";
    } else if (auth == nullptr) {
        detail = "missing Authorization: Bearer <token>";
    } else if (auth->rfind("Bearer ", 0) != 0 || !const_time_equal(auth->substr(7), token)) {
        detail = "bad bearer token";
    } else {
        return true;
    }
    *out = error_response(401, "unauthorized", detail);
    out->headers.push_back({"WWW-Authenticate", "Bearer"});
    return false;
}

// gate_lookup refuses lookups before routing is ready and sheds load: writes are refused
// from 3/4 of max_lookups, reads from max_lookups.
bool gate_lookup(NodeView& v, bool write, HttpResponse* out) {
    const Gates g = v.gates();
    if (!g.not_draining) {
        *out = error_response(503, "draining", "the node is shutting down");
    } else if (!g.routing_ready) {
        *out = error_response(503, "not_ready",
                              "routing is not ready: the join lookup has not finished");
    } else {
        const size_t pending = v.node().pending_queries();
        const size_t max = v.settings().max_lookups;
        if (write && pending * 4 >= max * 3) {
            *out = error_response(503, "overloaded",
                                  "too many lookups in flight: writes are shed first");
        } else if (pending >= max) {
            *out = error_response(503, "overloaded", "too many lookups in flight");
        } else {
            return true;
        }
    }
    out->headers.push_back({"Retry-After", RETRY_AFTER_S});
    return false;
}

// json_media_ok: a JSON endpoint takes a body sent as application/json, or one sent with
// no Content-Type at all; any other declared type is answered 415.
bool json_media_ok(const HttpRequest& req, HttpResponse* out) {
    const std::string* ct = req.header("content-type");
    if (ct == nullptr) return true;
    std::string media = ct->substr(0, ct->find(';'));
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.pop_back();
    media.erase(0, media.find_first_not_of(" \t"));
    std::transform(media.begin(), media.end(), media.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (media == "application/json") return true;
    *out = error_response(
        415, "unsupported_media_type",
        "the body must be application/json (Content-Type: " + media.substr(0, 64) + ")");
    return false;
}

// admin_degraded switches read-only mode: {"on": true|false}. The answer is the state.
HttpResponse admin_degraded(const HttpRequest& req, NodeView& v) {
    HttpResponse out;
    if (!json_media_ok(req, &out)) return out;
    json_error_t jerr;
    json_t* root = json_loadb(req.body.data(), req.body.size(), JSON_REJECT_DUPLICATES, &jerr);
    if (root == nullptr)
        return error_response(400, "bad_json",
                              std::string("body is not valid JSON: ") + jerr.text + " (line " +
                                  std::to_string(jerr.line) + ")");
    const json_t* on = json_is_object(root) ? json_object_get(root, "on") : nullptr;
    const bool valid = on != nullptr && json_is_boolean(on);
    const bool want = valid && json_is_true(on);
    json_decref(root);
    if (!valid) return error_response(400, "bad_request", "body: expected {\"on\": true|false}");
    v.set_degraded(want);
    JsonWriter w;
    w.begin_object().kv("degraded", v.node().degraded()).end_object();
    return json(200, w.take());
}

RouteResult provide(const HttpRequest& req, NodeView& v) {
    RouteResult rr;
    if (!json_media_ok(req, &rr.response)) return rr;
    json_error_t jerr;
    json_t* root = json_loadb(req.body.data(), req.body.size(), JSON_REJECT_DUPLICATES, &jerr);
    if (root == nullptr) {
        rr.response = error_response(400, "bad_json",
                                     std::string("body is not valid JSON: ") + jerr.text +
                                         " (line " + std::to_string(jerr.line) + ")");
        return rr;
    }
    auto fail = [&](const char* code, const std::string& detail) {
        json_decref(root);
        rr.response = error_response(400, code, detail);
        return rr;
    };
    if (!json_is_object(root)) return fail("bad_request", "body: expected a JSON object");
    const json_t* cid = json_object_get(root, "cid");
    if (cid == nullptr || !json_is_string(cid))
        return fail("bad_cid",
                    "cid: missing or not a string (expected \"b3:\" followed by 64 lowercase hex)");
    const json_t* node = json_object_get(root, "node");
    if (node == nullptr || !json_is_string(node))
        return fail("bad_node",
                    "node: missing or not a string (expected a URI such as tcp://host:port)");
    const json_t* ttl = json_object_get(root, "ttl_secs");
    if (ttl != nullptr && (!json_is_integer(ttl) || json_integer_value(ttl) < 0))
        return fail("bad_ttl_secs", "ttl_secs: expected a non-negative integer (seconds)");
    core::Key key;
    HttpResponse err;
    const std::string cid_text = json_string_value(cid);
    const std::string node_text = json_string_value(node);
    const uint64_t ttl_req = ttl != nullptr ? static_cast<uint64_t>(json_integer_value(ttl)) : 0;
    json_decref(root);
    if (!parse_key(cid_text, "cid", false, &key, &err)) {
        rr.response = err;
        return rr;
    }
    if (!core::addr_valid(node_text)) {
        rr.response = error_response(
            400, "bad_node",
            "node: expected a URI with scheme tcp, quic, local, onion, http or https, "
            "at most 256 bytes, without spaces");
        return rr;
    }
    if (!gate_lookup(v, true, &rr.response)) return rr;
    const AdminSettings& s = v.settings();
    const uint64_t ttl_used = std::min(ttl_req == 0 ? s.ttl_secs : ttl_req, s.max_ttl_secs);
    rr.pending = true;
    rr.wait.kind = core::ApiOp::provide;
    rr.wait.cid = cid_text;
    rr.wait.ttl_used = ttl_used;
    rr.wait.call.op = core::ApiOp::provide;
    rr.wait.call.key = key;
    rr.wait.call.addr = node_text;
    rr.wait.call.ttl_secs = ttl_used;
    return rr;
}

RouteResult put(const HttpRequest& req, NodeView& v) {
    RouteResult rr;
    const size_t max = v.settings().max_value_bytes;
    if (req.body.empty()) {
        rr.response = error_response(
            400, "bad_body",
            "body: expected the value bytes (1 to " + std::to_string(max) + " bytes)");
        return rr;
    }
    if (req.body.size() > max) {
        rr.response =
            error_response(413, "value_too_large",
                           "body: " + std::to_string(req.body.size()) +
                               " bytes, the limit (max_value_bytes) is " + std::to_string(max));
        return rr;
    }
    if (!gate_lookup(v, true, &rr.response)) return rr;
    rr.pending = true;
    rr.wait.kind = core::ApiOp::put;
    rr.wait.call.op = core::ApiOp::put;
    rr.wait.call.value = core::as_bytes(req.body);
    return rr;
}

// wants_json: the client's Accept names application/json (GET /dht/get answers the value
// as JSON then, base64 inside, instead of the raw bytes).
bool wants_json(const HttpRequest& req) {
    const std::string* accept = req.header("accept");
    return accept != nullptr && accept->find("application/json") != std::string::npos;
}

RouteResult lookup(core::ApiOp kind, const std::string& text, NodeView& v,
                   bool json_value = false) {
    RouteResult rr;
    core::Key key;
    const char* field = kind == core::ApiOp::find_providers ? "cid" : "key";
    if (!parse_key(text, field, kind == core::ApiOp::closest, &key, &rr.response)) return rr;
    if (!gate_lookup(v, false, &rr.response)) return rr;
    rr.pending = true;
    rr.wait.kind = kind;
    rr.wait.cid = text;
    rr.wait.json_value = json_value;
    rr.wait.call.op = kind;
    rr.wait.call.key = key;
    return rr;
}

}  // namespace

HttpResponse error_response(int status, std::string_view code, std::string_view detail) {
    return json(status, error_body(code, detail));
}

bool accept_corr_id(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::string make_corr_id(uint64_t seed, uint64_t n) {
    // splitmix64 of seed + n: distinct for distinct n, unpredictable without the seed.
    uint64_t z = seed + n * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    static const char HEX[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i, z >>= 4) out[static_cast<size_t>(i)] = HEX[z & 15];
    return out;
}

void tag_response(HttpResponse& r, std::string_view corr_id) {
    if (corr_id.empty()) return;
    r.headers.push_back({"X-Correlation-Id", std::string(corr_id)});
    if (r.content_type != "application/json" || r.body.empty() || r.body[0] != '{') return;
    std::string field = "\"corr_id\":\"" + std::string(corr_id) + "\"";
    if (r.body.size() > 1 && r.body[1] != '}') field += ",";
    r.body.insert(1, field);
}

void HttpMetrics::count(const std::string& route, const std::string& method, int status) {
    static const char* const KNOWN[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"};
    std::string m = "OTHER";
    for (const char* k : KNOWN)
        if (method == k) m = k;
    ++requests[{route, m, status}];
}

RouteResult route(const HttpRequest& req, NodeView& v, HttpMetrics& metrics) {
    const std::string path = req.path();
    const std::string& method = req.method;
    RouteResult rr;
    auto allow = [&](const char* template_, const char* allowed) {
        rr.route = template_;
        if (method == allowed) return true;
        rr.response =
            error_response(405, "method_not_allowed",
                           method + " is not allowed on " + template_ + "; use " + allowed);
        rr.response.headers.push_back({"Allow", allowed});
        return false;
    };
    auto param = [&](const char* prefix) -> std::string {
        return path.substr(std::strlen(prefix));
    };
    auto starts = [&](const char* prefix) {
        return path.rfind(prefix, 0) == 0 && path.size() > std::strlen(prefix);
    };

    if (path == "/healthz") {
        if (allow("/healthz", "GET")) rr.response = json(200, "{\"status\":\"ok\"}");
    } else if (path == "/readyz") {
        if (allow("/readyz", "GET")) rr.response = readyz(v);
    } else if (path == "/version") {
        if (allow("/version", "GET")) rr.response = version();
    } else if (path == "/metrics") {
        if (allow("/metrics", "GET")) {
            rr.response.content_type = "text/plain; version=0.0.4; charset=utf-8";
            rr.response.body = render_metrics(v, metrics);
        }
    } else if (path == "/dht/provide") {
        if (allow("/dht/provide", "POST") && check_token(req, v, &rr.response)) {
            RouteResult p = provide(req, v);
            p.route = rr.route;
            return p;
        }
    } else if (path == "/dht/put") {
        if (allow("/dht/put", "POST") && check_token(req, v, &rr.response)) {
            RouteResult p = put(req, v);
            p.route = rr.route;
            return p;
        }
    } else if (starts("/dht/find_providers/")) {
        if (allow("/dht/find_providers/{cid}", "GET")) {
            RouteResult p = lookup(core::ApiOp::find_providers, param("/dht/find_providers/"), v);
            p.route = rr.route;
            return p;
        }
    } else if (starts("/dht/get/")) {
        if (allow("/dht/get/{key}", "GET")) {
            RouteResult p = lookup(core::ApiOp::get, param("/dht/get/"), v, wants_json(req));
            p.route = rr.route;
            return p;
        }
    } else if (starts("/dht/closest/")) {
        if (allow("/dht/closest/{key}", "GET")) {
            RouteResult p = lookup(core::ApiOp::closest, param("/dht/closest/"), v);
            p.route = rr.route;
            return p;
        }
    } else if (path == "/admin/degraded") {
        if (allow("/admin/degraded", "POST") && check_token(req, v, &rr.response, true))
            rr.response = admin_degraded(req, v);
    } else if (path == "/dht/peers") {
        if (allow("/dht/peers", "GET")) rr.response = peers(v);
    } else if (path == "/dht/_debug/list") {
        if (allow("/dht/_debug/list", "GET")) rr.response = debug_list(v, req.url);
    } else {
        rr.route = "other";
        rr.response = error_response(
            404, "not_found",
            "no route for " + (path.size() > 64 ? path.substr(0, 64) + "..." : path));
    }
    return rr;
}

namespace {
// incomplete adds what a lookup cut short must say: "complete" and, when false, the reason.
void completeness(JsonWriter& w, const core::RequestResult& r) {
    w.kv("complete", r.complete);
    if (!r.complete) w.kv("reason", core::err_name(r.cut));
}
}  // namespace

HttpResponse render_done(const Pending& p, const core::RequestResult& r) {
    if (r.err != Err::ok && !(p.kind == core::ApiOp::get && r.err == Err::not_found)) {
        switch (r.err) {
            case Err::no_peers:
                return error_response(503, "no_peers", "the routing table is empty");
            case Err::timeout:
                return error_response(504, "timeout", "no answer before the lookup deadline");
            case Err::deadline:
            case Err::hop_budget: {
                // A get cut short has not shown that the value is absent: not a 404.
                JsonWriter w;
                w.begin_object()
                    .kv("error", "lookup_incomplete")
                    .kv("detail", std::string("not found before the lookup was cut short: ") +
                                      core::err_message(r.err));
                completeness(w, r);
                w.kv("hops", uint64_t{r.hops}).end_object();
                return json(504, w.take());
            }
            case Err::busy:
            case Err::too_many_requests:
                return error_response(503, "overloaded", core::err_message(r.err));
            case Err::shutting_down:
                return error_response(503, "draining", "the node is shutting down");
            case Err::store_unavailable:
                return error_response(507, "store_unavailable", core::err_message(r.err));
            case Err::value_too_large:
                return error_response(413, "value_too_large", core::err_message(r.err));
            case Err::ttl_too_large:
            case Err::too_many_addrs:
            case Err::addr_too_long:
            case Err::bad_addr_scheme:
                return error_response(400, core::err_name(r.err), core::err_message(r.err));
            default: return error_response(503, core::err_name(r.err), core::err_message(r.err));
        }
    }
    JsonWriter w;
    // Every answer reports its time with microsecond precision (the engine's clock is in
    // microseconds), and the hops of its lookup.
    const double elapsed = static_cast<double>(r.elapsed) / 1000.0;
    auto tail = [&] {
        w.kv("hops", uint64_t{r.hops});
        completeness(w, r);
        w.key("elapsed_ms").num(elapsed).end_object();
    };
    switch (p.kind) {
        case core::ApiOp::provide:
            w.begin_object()
                .kv("ok", true)
                .kv("cid", p.cid)
                .kv("ttl_secs_used", p.ttl_used)
                .kv("stored_on", uint64_t{r.stored_on});
            tail();
            break;
        case core::ApiOp::put:
            w.begin_object().kv("key", cid_of(r.key)).kv("stored_on", uint64_t{r.stored_on});
            tail();
            break;
        case core::ApiOp::get: {
            if (r.err == Err::not_found)
                return error_response(404, "not_found",
                                      "no value is stored under " + cid_of(r.key));
            if (p.json_value) {
                w.begin_object().kv("key", cid_of(r.key)).kv("bytes", uint64_t{r.value.size()});
                w.kv("value_b64", base64(r.value));
                tail();
                break;
            }
            // The body is the value itself: what the JSON answers say is in headers.
            HttpResponse out;
            out.content_type = "application/octet-stream";
            out.body.assign(r.value.begin(), r.value.end());
            char ms_text[32];
            std::snprintf(ms_text, sizeof ms_text, "%.3f", elapsed);
            out.headers.push_back({"X-Hops", std::to_string(r.hops)});
            out.headers.push_back({"X-Elapsed-Ms", ms_text});
            return out;
        }
        case core::ApiOp::find_providers:
            w.begin_object().kv("cid", p.cid);
            w.key("providers").begin_array();
            for (const core::ProviderInfo& pi : r.providers) {
                w.begin_object().kv("node", pi.addrs.empty() ? "" : pi.addrs[0]);
                w.key("addrs").begin_array();
                for (const auto& a : pi.addrs) w.str(a);
                w.end_array();
                w.kv("ttl_secs_left", pi.secs_left)
                    .kv("publisher", peer_hex(pi.publisher))
                    .kv("alg", pi.alg)
                    .end_object();
            }
            w.end_array();
            tail();
            break;
        case core::ApiOp::closest:
            w.begin_object().kv("key", cid_of(r.key));
            w.key("nodes").begin_array();
            for (const core::NodeInfo& n : r.nodes) {
                w.begin_object().kv("id", n.id.hex()).kv("addr", n.addr.format());
                w.kv("distance_bits",
                     static_cast<uint64_t>(256 - core::common_prefix_len(n.id, r.key)))
                    .end_object();
            }
            w.end_array();
            tail();
            break;
        case core::ApiOp::ping: break;
    }
    return json(200, w.take());
}

}  // namespace svcdht::admin
