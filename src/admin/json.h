// SPDX-License-Identifier: MIT
// A small JSON writer for admin responses: objects, arrays, strings (escaped), numbers,
// booleans. Commas are placed automatically. Request bodies are parsed with jansson.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace svcdht::admin {

// base64 encodes |data| with the standard alphabet and padding (RFC 4648, section 4).
std::string base64(std::span<const uint8_t> data);

class JsonWriter {
public:
    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    JsonWriter& key(std::string_view k);
    JsonWriter& str(std::string_view v);
    JsonWriter& num(uint64_t v);
    JsonWriter& num(int64_t v);
    JsonWriter& num(double v);
    JsonWriter& boolean(bool v);
    JsonWriter& null();
    // Shorthands for "key": value pairs.
    JsonWriter& kv(std::string_view k, std::string_view v) { return key(k).str(v); }
    JsonWriter& kv(std::string_view k, const char* v) { return key(k).str(v); }
    JsonWriter& kv(std::string_view k, uint64_t v) { return key(k).num(v); }
    JsonWriter& kv(std::string_view k, bool v) { return key(k).boolean(v); }
    std::string take() { return std::move(out_); }
    const std::string& str() const { return out_; }

private:
    void comma();
    std::string out_;
    std::vector<bool> first_;  // per open container: no element written yet
    bool after_key_ = false;
};

// error_body returns {"error":"<code>","detail":"<detail>"}.
std::string error_body(std::string_view code, std::string_view detail);

}  // namespace svcdht::admin
