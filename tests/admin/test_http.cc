// SPDX-License-Identifier: MIT
// The llhttp glue: requests split at every byte, pipelining with pause/resume, the limits
// (414, 431, 413), malformed input (400), keep-alive rules, and response serialization.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "admin/http.h"

using namespace svcdht::admin;

namespace {

// parse_all feeds |in| in pieces of |step| bytes, resuming after each request, and returns
// "METHOD url body" per request, or "error NNN".
std::vector<std::string> parse_all(const std::string& in, size_t step) {
    HttpParser p;
    std::vector<std::string> out;
    std::string pending;
    for (size_t pos = 0; pos < in.size() || !pending.empty();) {
        if (pos < in.size()) {
            const size_t n = std::min(step, in.size() - pos);
            pending.append(in, pos, n);
            pos += n;
        }
        bool progressed = false;
        for (;;) {
            size_t used = 0;
            const auto st = p.feed(pending.data(), pending.size(), &used);
            pending.erase(0, used);
            if (st == HttpParser::Status::error) {
                out.push_back("error " + std::to_string(p.error_status()));
                return out;
            }
            if (st == HttpParser::Status::need_more) break;
            const HttpRequest& r = p.request();
            out.push_back(r.method + " " + r.url + " " + r.body);
            p.resume();
            progressed = true;
        }
        if (pos >= in.size() && !progressed) break;
    }
    return out;
}

}  // namespace

TEST(Http, EverySplitPointGivesTheSameRequests) {
    const std::string in =
        "POST /dht/put HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /dht/get/b3:00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const std::vector<std::string> want = {"POST /dht/put hello", "GET /healthz ",
                                           "GET /dht/get/b3:00 "};
    for (size_t step = 1; step <= in.size(); ++step)
        EXPECT_EQ(parse_all(in, step), want) << "step " << step;
}

TEST(Http, HeadersAreLowercasedAndKeepAliveFollowsTheRequest) {
    HttpParser p;
    const std::string in =
        "GET /x?y=1 HTTP/1.1\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n";
    size_t used = 0;
    ASSERT_EQ(p.feed(in.data(), in.size(), &used), HttpParser::Status::request);
    EXPECT_EQ(used, in.size());
    EXPECT_EQ(*p.request().header("authorization"), "Bearer t");
    EXPECT_FALSE(p.request().keep_alive);
    EXPECT_EQ(p.request().path(), "/x");
    HttpParser q;
    const std::string old = "GET / HTTP/1.0\r\n\r\n";
    ASSERT_EQ(q.feed(old.data(), old.size(), &used), HttpParser::Status::request);
    EXPECT_FALSE(q.request().keep_alive) << "HTTP/1.0 closes by default";
}

TEST(Http, Limits) {
    EXPECT_EQ(parse_all("GET /" + std::string(MAX_URL, 'a') + " HTTP/1.1\r\n\r\n", 100),
              std::vector<std::string>{"error 414"});
    EXPECT_EQ(parse_all("GET / HTTP/1.1\r\nX: " + std::string(MAX_HEADERS, 'b') + "\r\n\r\n", 1000),
              std::vector<std::string>{"error 431"});
    EXPECT_EQ(
        parse_all("POST / HTTP/1.1\r\nContent-Length: " + std::to_string(MAX_BODY + 1) + "\r\n\r\n",
                  1000),
        std::vector<std::string>{"error 413"})
        << "refused from the announced length";
    std::string chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 20; ++i) chunked += "10000\r\n" + std::string(0x10000, 'c') + "\r\n";
    EXPECT_EQ(parse_all(chunked, 65536), std::vector<std::string>{"error 413"})
        << "counted as it arrives";
    std::string many = "GET / HTTP/1.1\r\n";
    for (size_t i = 0; i <= MAX_HEADER_COUNT; ++i) many += "H" + std::to_string(i) + ": v\r\n";
    EXPECT_EQ(parse_all(many + "\r\n", 4096), std::vector<std::string>{"error 431"});
}

TEST(Http, MalformedIsBadRequest) {
    EXPECT_EQ(parse_all("NOT HTTP AT ALL\r\n\r\n", 4), std::vector<std::string>{"error 400"});
    EXPECT_EQ(parse_all("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 7),
              std::vector<std::string>{"error 400"});
}

TEST(Http, SerializeSetsLengthAndConnection) {
    HttpResponse r;
    r.status = 503;
    r.body = "{}";
    r.headers.push_back({"Retry-After", "2"});
    EXPECT_EQ(serialize(r, true),
              "HTTP/1.1 503 Service Unavailable\r\nContent-Type: "
              "application/json\r\nContent-Length: 2\r\n"
              "Retry-After: 2\r\nConnection: keep-alive\r\n\r\n{}");
    r.close = true;
    EXPECT_NE(serialize(r, true).find("Connection: close"), std::string::npos);
}
