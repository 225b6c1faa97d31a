// SPDX-License-Identifier: MIT
// The JSON writer (see json.h).
#include "admin/json.h"

#include <cmath>
#include <cstdio>

#include "platform/log.h"

namespace svcdht::admin {

std::string base64(std::span<const uint8_t> data) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        const uint32_t v = uint32_t{data[i]} << 16 | uint32_t{data[i + 1]} << 8 | data[i + 2];
        out += A[v >> 18];
        out += A[(v >> 12) & 63];
        out += A[(v >> 6) & 63];
        out += A[v & 63];
    }
    if (i < data.size()) {
        const bool two = i + 1 < data.size();
        const uint32_t v = uint32_t{data[i]} << 16 | (two ? uint32_t{data[i + 1]} << 8 : 0);
        out += A[v >> 18];
        out += A[(v >> 12) & 63];
        out += two ? A[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

void JsonWriter::comma() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!first_.empty()) {
        if (!first_.back()) out_ += ',';
        first_.back() = false;
    }
}

JsonWriter& JsonWriter::begin_object() {
    comma();
    out_ += '{';
    first_.push_back(true);
    return *this;
}

JsonWriter& JsonWriter::end_object() {
    out_ += '}';
    first_.pop_back();
    return *this;
}

JsonWriter& JsonWriter::begin_array() {
    comma();
    out_ += '[';
    first_.push_back(true);
    return *this;
}

JsonWriter& JsonWriter::end_array() {
    out_ += ']';
    first_.pop_back();
    return *this;
}

JsonWriter& JsonWriter::key(std::string_view k) {
    comma();
    out_ += '"';
    platform::json_escape(k, out_);
    out_ += "\":";
    after_key_ = true;
    return *this;
}

JsonWriter& JsonWriter::str(std::string_view v) {
    comma();
    out_ += '"';
    platform::json_escape(v, out_);
    out_ += '"';
    return *this;
}

JsonWriter& JsonWriter::num(uint64_t v) {
    comma();
    out_ += std::to_string(v);
    return *this;
}

JsonWriter& JsonWriter::num(int64_t v) {
    comma();
    out_ += std::to_string(v);
    return *this;
}

JsonWriter& JsonWriter::num(double v) {
    comma();
    if (!std::isfinite(v)) {
        out_ += "null";
        return *this;
    }
    char b[32];
    std::snprintf(b, sizeof b, "%.3f", v);
    out_ += b;
    return *this;
}

JsonWriter& JsonWriter::boolean(bool v) {
    comma();
    out_ += v ? "true" : "false";
    return *this;
}

JsonWriter& JsonWriter::null() {
    comma();
    out_ += "null";
    return *this;
}

std::string error_body(std::string_view code, std::string_view detail) {
    JsonWriter w;
    w.begin_object().kv("error", code).kv("detail", detail).end_object();
    return w.take();
}

}  // namespace svcdht::admin
