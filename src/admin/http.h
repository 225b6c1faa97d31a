// SPDX-License-Identifier: MIT
// HTTP/1.1 request parsing with llhttp, behind a class that takes bytes and has no socket,
// so the fuzzer and the tests drive it directly. It enforces the admin plane's limits
// (URL 2 KiB -> 414, headers 16 KiB -> 431, body 1 MiB -> 413) and stops after each complete
// request (pipelining: one request in flight per connection; resume() continues).
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace svcdht::admin {

inline constexpr size_t MAX_URL = 2048;
inline constexpr size_t MAX_HEADERS = 16 * 1024;
inline constexpr size_t MAX_BODY = 1024 * 1024;
inline constexpr size_t MAX_HEADER_COUNT = 64;

struct HttpRequest {
    std::string method;
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
    std::string body;
    bool keep_alive = true;
    // header returns the value of |name| (lowercase), or nullptr.
    const std::string* header(std::string_view name) const;
    std::string path() const;  // url without the query string
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool close = false;  // close the connection after this response
};

// serialize writes the status line, headers (Content-Length, Connection) and body.
std::string serialize(const HttpResponse& r, bool keep_alive);
const char* reason_phrase(int status);

class HttpParser {
public:
    HttpParser();
    HttpParser(const HttpParser&) = delete;
    HttpParser& operator=(const HttpParser&) = delete;

    enum class Status { need_more, request, error };
    // feed parses bytes until a request is complete (Status::request: request() holds it
    // and the parser stays paused until resume()), more bytes are needed, or the input is
    // bad (Status::error: error_status() is 400, 413, 414 or 431; the connection closes).
    // |consumed| says how much of |data| was used.
    Status feed(const char* data, size_t len, size_t* consumed);
    void resume();
    const HttpRequest& request() const { return req_; }
    // release_request frees the last request's memory (its body) once it has been handled.
    void release_request() { req_ = HttpRequest{}; }
    int error_status() const { return error_status_; }
    bool in_progress() const { return in_message_; }

private:
    static int on_message_begin(llhttp_t* p);
    static int on_url(llhttp_t* p, const char* at, size_t len);
    static int on_header_field(llhttp_t* p, const char* at, size_t len);
    static int on_header_value(llhttp_t* p, const char* at, size_t len);
    static int on_headers_complete(llhttp_t* p);
    static int on_body(llhttp_t* p, const char* at, size_t len);
    static int on_message_complete(llhttp_t* p);

    llhttp_t parser_{};
    llhttp_settings_t settings_{};
    HttpRequest req_;
    size_t header_bytes_ = 0;
    bool in_value_ = false;
    bool in_message_ = false;
    bool paused_ = false;
    int error_status_ = 0;
};

}  // namespace svcdht::admin
