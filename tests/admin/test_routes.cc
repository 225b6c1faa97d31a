// SPDX-License-Identifier: MIT
// The admin routes without sockets: every endpoint of DESIGN 5, its validation and status
// codes, the bearer token, readiness gating and load shedding, and result rendering.
#include <gtest/gtest.h>

#include <jansson.h>

#include <cstdlib>
#include <set>

#include "admin/json.h"
#include "fake_view.h"
#include "svcdht/blake3.h"

using namespace svcdht;
using namespace svcdht::admin;
using svcdht::test::FakeView;

namespace {

HttpRequest req(std::string method, std::string url, std::string body = "") {
    HttpRequest r;
    r.method = std::move(method);
    r.url = std::move(url);
    r.body = std::move(body);
    return r;
}

// Runs a request; for a pending one, pumps the node and renders the result.
HttpResponse call(FakeView& v, const HttpRequest& r, HttpMetrics* m = nullptr) {
    HttpMetrics local;
    RouteResult rr = route(r, v, m ? *m : local);
    if (!rr.pending) return rr.response;
    rr.wait.id = v.start(rr.wait.call, nullptr);
    const core::RequestResult* done = v.done(rr.wait.id);
    if (done == nullptr) {
        HttpResponse still;
        still.status = 0;  // still pending
        return still;
    }
    return render_done(rr.wait, *done);
}

std::string field(const HttpResponse& r, const char* key) {
    json_error_t e;
    json_t* j = json_loads(r.body.c_str(), 0, &e);
    if (j == nullptr) return "<not json>";
    json_t* f = json_object_get(j, key);
    std::string out = "<missing>";
    if (f != nullptr && json_is_string(f)) {
        out = json_string_value(f);
    } else if (f != nullptr) {
        char* dumped = json_dumps(f, JSON_ENCODE_ANY);
        out = dumped;
        free(dumped);
    }
    json_decref(j);
    return out;
}

const std::string CID = "b3:" + std::string(64, 'a');

}  // namespace

TEST(Routes, HealthzVersionAndUnknown) {
    FakeView v;
    HttpResponse r = call(v, req("GET", "/healthz"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "{\"status\":\"ok\"}");
    r = call(v, req("GET", "/version"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(field(r, "service"), "svc-dht");
    EXPECT_NE(field(r, "features"), "<missing>");
    r = call(v, req("GET", "/nothing-here"));
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(field(r, "error"), "not_found");
    r = call(v, req("POST", "/healthz"));
    EXPECT_EQ(r.status, 405);
    ASSERT_FALSE(r.headers.empty());
    EXPECT_EQ(r.headers[0].first, "Allow");
    EXPECT_EQ(r.headers[0].second, "GET");
    r = call(v, req("GET", "/dht/provide"));
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.headers[0].second, "POST");
}

TEST(Routes, ReadyzReportsEveryGate) {
    FakeView v;
    HttpResponse r = call(v, req("GET", "/readyz"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(field(r, "ready"), "true");
    v.gates_.bootstrap = false;
    v.gates_.not_draining = false;
    r = call(v, req("GET", "/readyz"));
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(field(r, "missing"), "[\"bootstrap\", \"not_draining\"]");
    bool retry = false;
    for (const auto& [k, val] : r.headers) retry |= k == "Retry-After";
    EXPECT_TRUE(retry);
}

TEST(Routes, BadIdsName400WithTheField) {
    FakeView v;
    HttpResponse r = call(v, req("GET", "/dht/find_providers/b3:abc"));
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(field(r, "error"), "bad_cid");
    EXPECT_NE(field(r, "detail").find("64 lowercase hex"), std::string::npos);
    EXPECT_NE(field(r, "detail").find("got 3 characters"), std::string::npos);
    r = call(v, req("GET", "/dht/get/" + std::string(64, 'a')));
    EXPECT_EQ(r.status, 400) << "values need the b3: form";
    EXPECT_NE(field(r, "detail").find("prefix b3: is missing"), std::string::npos);
    r = call(v, req("GET", "/dht/get/b3:" + std::string(63, 'a') + "G"));
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(field(r, "detail").find("outside 0-9a-f"), std::string::npos);
}

TEST(Routes, ProvideValidation) {
    FakeView v;
    auto post = [&](const std::string& body) { return call(v, req("POST", "/dht/provide", body)); };
    EXPECT_EQ(field(post("{nope"), "error"), "bad_json");
    EXPECT_EQ(field(post("[1,2]"), "error"), "bad_request");
    EXPECT_EQ(field(post("{\"node\":\"tcp://a:1\"}"), "error"), "bad_cid");
    EXPECT_EQ(field(post("{\"cid\":\"" + CID + "\"}"), "error"), "bad_node");
    EXPECT_EQ(field(post("{\"cid\":\"" + CID + "\",\"node\":\"gopher://x\"}"), "error"),
              "bad_node");
    EXPECT_EQ(
        field(post("{\"cid\":\"" + CID + "\",\"node\":\"tcp://a:1\",\"ttl_secs\":\"x\"}"), "error"),
        "bad_ttl_secs");
    EXPECT_EQ(
        field(post("{\"cid\":\"" + CID + "\",\"cid\":\"" + CID + "\",\"node\":\"tcp://a:1\"}"),
              "error"),
        "bad_json")
        << "duplicate keys";
    // A standalone node stores locally and answers at once.
    HttpResponse ok = post("{\"cid\":\"" + CID + "\",\"node\":\"tcp://a:1\",\"ttl_secs\":999999}");
    EXPECT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(field(ok, "ok"), "true");
    EXPECT_EQ(field(ok, "ttl_secs_used"), "172800") << "clamped to max_ttl_secs";
    EXPECT_EQ(field(ok, "stored_on"), "0");
    HttpResponse found = call(v, req("GET", "/dht/find_providers/" + CID));
    EXPECT_EQ(found.status, 200);
    EXPECT_NE(found.body.find("\"node\":\"tcp://a:1\""), std::string::npos) << found.body;
}

TEST(Routes, MutationsNeedTheTokenOffLoopback) {
    FakeView v;
    v.settings_.require_token = true;
    const std::string body = "{\"cid\":\"" + CID + "\",\"node\":\"tcp://a:1\"}";
    HttpResponse r = call(v, req("POST", "/dht/provide", body));
    EXPECT_EQ(r.status, 401);
    EXPECT_NE(field(r, "detail").find("no admin_token_file"), std::string::npos);
    v.token_ = "tok";
    r = call(v, req("POST", "/dht/put", "x"));
    EXPECT_EQ(r.status, 401);
    EXPECT_NE(field(r, "detail").find("missing Authorization"), std::string::npos);
    HttpRequest with = req("POST", "/dht/put", "x");
    with.headers.push_back({"authorization", "Bearer nope"});
    EXPECT_EQ(call(v, with).status, 401);
    with.headers[0].second = "Bearer tok";
    EXPECT_EQ(call(v, with).status, 200);
    EXPECT_EQ(call(v, req("GET", "/dht/peers")).status, 200) << "reads need no token";
}

TEST(Routes, PutAndGetValues) {
    FakeView v;
    v.settings_.max_value_bytes = 10;
    EXPECT_EQ(field(call(v, req("POST", "/dht/put", "")), "error"), "bad_body");
    HttpResponse big = call(v, req("POST", "/dht/put", std::string(11, 'x')));
    EXPECT_EQ(big.status, 413);
    EXPECT_EQ(field(big, "error"), "value_too_large");
    HttpResponse r = call(v, req("POST", "/dht/put", "hello"));
    EXPECT_EQ(r.status, 200);
    const std::string key = field(r, "key");
    EXPECT_EQ(key, core::NodeId::from(core::blake3(core::as_bytes("hello"))).cid());
    HttpResponse g = call(v, req("GET", "/dht/get/" + key));
    EXPECT_EQ(g.status, 200);
    EXPECT_EQ(g.content_type, "application/octet-stream");
    EXPECT_EQ(g.body, "hello");
    HttpResponse miss = call(v, req("GET", "/dht/get/" + CID));
    EXPECT_EQ(miss.status, 404);
    EXPECT_EQ(field(miss, "error"), "not_found");
}

TEST(Routes, LookupsBeforeRoutingIsReadyGet503AndOverloadShedsWritesFirst) {
    FakeView v;
    v.gates_.routing_ready = false;
    HttpResponse r = call(v, req("GET", "/dht/closest/" + CID));
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(field(r, "error"), "not_ready");
    v.gates_.routing_ready = true;
    v.gates_.not_draining = false;
    EXPECT_EQ(field(call(v, req("GET", "/dht/get/" + CID)), "error"), "draining");
    v.gates_.not_draining = true;
    // With a peer that never answers, lookups stay pending and pile up.
    v.add_peer(9);
    v.settings_.max_lookups = 4;
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(call(v, req("GET", "/dht/closest/" + CID)).status, 0) << "pending";
    HttpResponse w = call(v, req("POST", "/dht/put", "x"));
    EXPECT_EQ(w.status, 503) << "3 of 4 in flight: writes are shed";
    EXPECT_EQ(field(w, "error"), "overloaded");
    EXPECT_EQ(call(v, req("GET", "/dht/closest/" + CID)).status, 0) << "reads still go";
    EXPECT_EQ(call(v, req("GET", "/dht/closest/" + CID)).status, 503) << "now reads too";
}

TEST(Routes, ClosestAndPeersAndDebugList) {
    FakeView v;
    v.add_peer(3);
    HttpResponse peers = call(v, req("GET", "/dht/peers"));
    EXPECT_EQ(peers.status, 200);
    EXPECT_EQ(field(peers, "count"), "1");
    EXPECT_NE(peers.body.find("\"bucket\":"), std::string::npos);
    EXPECT_NE(peers.body.find("\"self\":"), std::string::npos);
    // A lookup result rendered: ids, addresses and distance in bits.
    Pending p;
    p.kind = core::ApiOp::closest;
    core::RequestResult res;
    res.key = core::NodeId::from(core::blake3(core::as_bytes("k")));
    core::NodeInfo n;
    n.id = res.key;
    n.id.b[31] ^= 1;
    n.addr = core::PeerAddr::v4(192, 0, 2, 1, 9444);
    res.nodes.push_back(n);
    res.hops = 2;
    HttpResponse c = render_done(p, res);
    EXPECT_EQ(c.status, 200);
    EXPECT_NE(c.body.find("\"distance_bits\":1"), std::string::npos) << c.body;
    EXPECT_NE(c.body.find("\"addr\":\"192.0.2.1:9444\""), std::string::npos);
    res.err = core::Err::timeout;
    EXPECT_EQ(render_done(p, res).status, 504);
    res.err = core::Err::no_peers;
    EXPECT_EQ(render_done(p, res).status, 503);
    // The debug list shows what the store holds, with time left.
    call(v, req("POST", "/dht/put", "abc"));
    HttpResponse d = call(v, req("GET", "/dht/_debug/list?limit=10"));
    EXPECT_EQ(d.status, 200);
    EXPECT_NE(d.body.find("\"kind\":\"value\""), std::string::npos) << d.body;
    EXPECT_NE(d.body.find("\"secs_left\":86400"), std::string::npos) << d.body;
}

TEST(Routes, MetricsNamesAndRequestCounts) {
    FakeView v;
    HttpMetrics m;
    call(v, req("GET", "/healthz"), &m);
    m.count("/healthz", "GET", 200);
    m.count("/x", "BREW", 404);
    const std::string text = render_metrics(v, m);
    for (const char* name :
         {"dht_put_total", "dht_lookup_hops_bucket{op=\"find_node\",le=\"1\"}", "dht_ready",
          "dht_build_info{version=", "process_open_fds", "dht_rpcs_total{op=\"ping\",code=\"ok\"}"})
        EXPECT_NE(text.find(name), std::string::npos) << name;
    EXPECT_NE(text.find("http_requests_total{route=\"/x\",method=\"OTHER\",status=\"404\"} 1"),
              std::string::npos)
        << "unknown methods are folded into OTHER";
}

TEST(Routes, CorrelationIds) {
    // A caller's id is taken only when it cannot forge a log line or a JSON field.
    EXPECT_TRUE(accept_corr_id("trace-42.a:b_C"));
    EXPECT_TRUE(accept_corr_id(std::string(64, 'x')));
    EXPECT_FALSE(accept_corr_id(""));
    EXPECT_FALSE(accept_corr_id(std::string(65, 'x')));
    for (const char* bad : {"a b", "a\"b", "a\nb", "a\\b", "a=b", "a{b", "\xc3\xa9"})
        EXPECT_FALSE(accept_corr_id(bad)) << bad;
    // Made ids: 16 hex characters, distinct for each request.
    std::set<std::string> seen;
    for (uint64_t n = 0; n < 1000; ++n) {
        const std::string id = make_corr_id(0x1234, n);
        ASSERT_EQ(id.size(), 16u);
        ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), 1000u);
    // Every answer carries it: a header always, a field in JSON objects.
    HttpResponse r = error_response(404, "not_found", "no route");
    tag_response(r, "abc");
    EXPECT_EQ(r.body.rfind("{\"corr_id\":\"abc\",\"error\":", 0), 0u) << r.body;
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].first, "X-Correlation-Id");
    HttpResponse empty;
    empty.body = "{}";
    tag_response(empty, "abc");
    EXPECT_EQ(empty.body, "{\"corr_id\":\"abc\"}");
    HttpResponse raw;
    raw.content_type = "application/octet-stream";
    raw.body = "{not json";
    tag_response(raw, "abc");
    EXPECT_EQ(raw.body, "{not json");
    EXPECT_EQ(raw.headers.size(), 1u);
}

TEST(Json, Base64MatchesRfc4648) {
    auto b64 = [](std::string_view s) {
        return base64({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
    };
    // The test vectors of RFC 4648, section 10.
    EXPECT_EQ(b64(""), "");
    EXPECT_EQ(b64("f"), "Zg==");
    EXPECT_EQ(b64("fo"), "Zm8=");
    EXPECT_EQ(b64("foo"), "Zm9v");
    EXPECT_EQ(b64("foob"), "Zm9vYg==");
    EXPECT_EQ(b64("fooba"), "Zm9vYmE=");
    EXPECT_EQ(b64("foobar"), "Zm9vYmFy");
    const uint8_t high[] = {0xff, 0xfe, 0xfd};
    EXPECT_EQ(base64(high), "//79");
}

TEST(Routes, MetricsShowLookupsInFlightReplicationAndStoreLimits) {
    FakeView v;
    HttpMetrics m;
    v.gates_.seeds_configured = 2;
    auto has = [&](const std::string& text, const char* line) {
        EXPECT_NE(text.find(std::string("\n") + line + "\n"), std::string::npos) << line;
    };
    std::string text = render_metrics(v, m);
    has(text, "dht_lookups_inflight{purpose=\"api\"} 0");
    has(text, "dht_replication_factor_target 3");
    has(text, "dht_replication_sampled_keys 0");
    has(text, "dht_replication_owed 0");
    has(text, "dht_replication_given_up_total 0");
    // No round trip timed yet: RPCs get rpc_timeout_ms.
    has(text, "dht_rtt_smoothed_seconds 0");
    has(text, "dht_rtt_deviation_seconds 0");
    has(text, "dht_rpc_timeout_seconds 1.500000");
    has(text, "dht_warm_sessions 0");
    has(text, "dht_keepalive_pings_total 0");
    has(text, "dht_store_max_bytes 67108864");
    has(text, "dht_store_max_records 100000");
    has(text, "dht_bootstrap_seeds_configured 2");
    has(text, "dht_hedge_budget_exhausted_total 0");
    has(text, "dht_bootstrap_dial_attempts_total 0");
    // Alone, a put confirms only this node's copy: one round, one copy, short of replica.
    call(v, req("POST", "/dht/put", "alone"));
    text = render_metrics(v, m);
    has(text, "dht_replication_sampled_keys 1");
    has(text, "dht_replication_held_min 1");
    has(text, "dht_replication_held_median 1");
    has(text, "dht_replication_short_total 1");
    // With a peer that never answers, an API lookup stays in flight.
    v.add_peer(5);
    call(v, req("GET", "/dht/closest/b3:" + std::string(64, 'a')));
    text = render_metrics(v, m);
    has(text, "dht_lookups_inflight{purpose=\"api\"} 1");
    has(text, "dht_lookups_inflight{purpose=\"join\"} 0");
}
