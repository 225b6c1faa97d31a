// SPDX-License-Identifier: MIT
// The llhttp glue (see http.h). Callbacks append into bounded fields; a limit breach turns
// into an llhttp error with the HTTP status we answer. Nothing here touches a socket.
#include "admin/http.h"

#include <algorithm>
#include <cctype>

namespace svcdht::admin {

namespace {
HttpParser* self_of(llhttp_t* p) {
    return static_cast<HttpParser*>(p->data);
}
}  // namespace

const std::string* HttpRequest::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k == name) return &v;
    return nullptr;
}

std::string HttpRequest::path() const {
    const size_t q = url.find('?');
    return q == std::string::npos ? url : url.substr(0, q);
}

const char* reason_phrase(int status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 413: return "Payload Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 507: return "Insufficient Storage";
        default: return "Unknown";
    }
}

std::string serialize(const HttpResponse& r, bool keep_alive) {
    std::string out =
        "HTTP/1.1 " + std::to_string(r.status) + " " + reason_phrase(r.status) + "\r\n";
    out += "Content-Type: " + r.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
    out += keep_alive && !r.close ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    out += "\r\n";
    out += r.body;
    return out;
}

HttpParser::HttpParser() {
    llhttp_settings_init(&settings_);
    settings_.on_message_begin = on_message_begin;
    settings_.on_url = on_url;
    settings_.on_header_field = on_header_field;
    settings_.on_header_value = on_header_value;
    settings_.on_headers_complete = on_headers_complete;
    settings_.on_body = on_body;
    settings_.on_message_complete = on_message_complete;
    llhttp_init(&parser_, HTTP_REQUEST, &settings_);
    parser_.data = this;
}

int HttpParser::on_message_begin(llhttp_t* p) {
    HttpParser* self = self_of(p);
    self->req_ = HttpRequest{};
    self->header_bytes_ = 0;
    self->in_value_ = false;
    self->in_message_ = true;
    return 0;
}

int HttpParser::on_url(llhttp_t* p, const char* at, size_t len) {
    HttpParser* self = self_of(p);
    if (self->req_.url.size() + len > MAX_URL) {
        self->error_status_ = 414;
        return -1;
    }
    self->req_.url.append(at, len);
    return 0;
}

int HttpParser::on_header_field(llhttp_t* p, const char* at, size_t len) {
    HttpParser* self = self_of(p);
    self->header_bytes_ += len;
    if (self->header_bytes_ > MAX_HEADERS) {
        self->error_status_ = 431;
        return -1;
    }
    if (self->in_value_ || self->req_.headers.empty()) {
        if (self->req_.headers.size() >= MAX_HEADER_COUNT) {
            self->error_status_ = 431;
            return -1;
        }
        self->req_.headers.emplace_back();
        self->in_value_ = false;
    }
    std::string& name = self->req_.headers.back().first;
    for (size_t i = 0; i < len; ++i)
        name += static_cast<char>(std::tolower(static_cast<unsigned char>(at[i])));
    return 0;
}

int HttpParser::on_header_value(llhttp_t* p, const char* at, size_t len) {
    HttpParser* self = self_of(p);
    self->header_bytes_ += len;
    if (self->header_bytes_ > MAX_HEADERS) {
        self->error_status_ = 431;
        return -1;
    }
    self->in_value_ = true;
    self->req_.headers.back().second.append(at, len);
    return 0;
}

int HttpParser::on_headers_complete(llhttp_t* p) {
    HttpParser* self = self_of(p);
    self->req_.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
    // Refuse an announced body over the limit before reading any of it.
    if (p->content_length > MAX_BODY && (p->flags & F_CONTENT_LENGTH) != 0) {
        self->error_status_ = 413;
        return -1;
    }
    return 0;
}

int HttpParser::on_body(llhttp_t* p, const char* at, size_t len) {
    HttpParser* self = self_of(p);
    if (self->req_.body.size() + len > MAX_BODY) {
        self->error_status_ = 413;
        return -1;
    }
    self->req_.body.append(at, len);
    return 0;
}

int HttpParser::on_message_complete(llhttp_t* p) {
    HttpParser* self = self_of(p);
    self->req_.keep_alive = llhttp_should_keep_alive(p) != 0;
    self->in_message_ = false;
    self->paused_ = true;
    return HPE_PAUSED;  // one request at a time: the caller answers, then resume()s
}

HttpParser::Status HttpParser::feed(const char* data, size_t len, size_t* consumed) {
    *consumed = 0;
    if (error_status_ != 0) return Status::error;
    if (paused_) return Status::request;
    if (len == 0) return Status::need_more;
    const llhttp_errno_t e = llhttp_execute(&parser_, data, len);
    if (e == HPE_OK) {
        *consumed = len;
        return Status::need_more;
    }
    if (e == HPE_PAUSED) {
        *consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data);
        return Status::request;
    }
    if (error_status_ == 0) error_status_ = 400;
    return Status::error;
}

void HttpParser::resume() {
    if (!paused_) return;
    paused_ = false;
    llhttp_resume(&parser_);
}

}  // namespace svcdht::admin
