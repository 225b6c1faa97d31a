// SPDX-License-Identifier: MIT
// Fuzz target: the admin plane without sockets. The first input byte chooses how the rest is
// cut into chunks; the HTTP parser consumes them, every complete request goes through the
// routes (over a real, network-less Node), pending ones are answered, and every response is
// serialized. Invariants: a response status is a real HTTP status, errors are JSON with
// "error" and "detail", and the parser never reports consuming more than it was given.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "admin/http.h"
#include "admin/routes.h"
#include "fake_view.h"

using namespace svcdht::admin;

namespace {

void check(const HttpResponse& r) {
    if (r.status < 200 || r.status > 599) std::abort();
    if (r.status >= 400 && r.content_type == "application/json" &&
        (r.body.find("\"error\":") == std::string::npos ||
         r.body.find("\"detail\":") == std::string::npos))
        std::abort();
    (void)serialize(r, true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    static svcdht::test::FakeView* view =
        new svcdht::test::FakeView();  // built once: a fresh Node per input is slow
    HttpMetrics metrics;
    HttpParser parser;
    const size_t step = 1 + data[0] % 64;
    std::string pending;
    size_t pos = 1;
    int requests = 0;
    while ((pos < size || !pending.empty()) && requests < 32) {
        if (pos < size) {
            const size_t n = std::min(step, size - pos);
            pending.append(reinterpret_cast<const char*>(data + pos), n);
            pos += n;
        }
        size_t used = 0;
        const auto st = parser.feed(pending.data(), pending.size(), &used);
        if (used > pending.size()) std::abort();
        pending.erase(0, used);
        if (st == HttpParser::Status::error) {
            const int code = parser.error_status();
            if (code != 400 && code != 413 && code != 414 && code != 431) std::abort();
            break;
        }
        if (st == HttpParser::Status::need_more) {
            if (pos >= size) break;
            continue;
        }
        ++requests;
        RouteResult rr = route(parser.request(), *view, metrics);
        if (rr.pending) {
            rr.wait.id = view->start(rr.wait.call, nullptr);
            if (const svcdht::core::RequestResult* done = view->done(rr.wait.id))
                check(render_done(rr.wait, *done));
        } else {
            check(rr.response);
        }
        parser.resume();
    }
    return 0;
}
