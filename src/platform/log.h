// SPDX-License-Identifier: MIT
// Logging: one line per event on stderr, as text or JSON lines (one object per line), with
// levels and the fields of the runbook (corr_id, peer_id, key, op, hops, ...). Warnings
// are rate-limited per message, that is per kind (expected failures must not flood the
// journal), and what was suppressed is counted. Also the core's LogSink.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "svcdht/env.h"

namespace svcdht::platform {

using core::LogField;
using core::LogLevel;

class Logger final : public core::LogSink {
public:
    void configure(LogLevel min, bool json);
    bool enabled(LogLevel l) const override { return l >= min_; }
    void log(LogLevel level, std::string_view msg, std::span<const LogField> fields) override;
    void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {}) {
        log(level, msg, std::span<const LogField>(fields.begin(), fields.size()));
    }
    void info(std::string_view msg, std::initializer_list<LogField> f = {}) {
        log(LogLevel::info, msg, f);
    }
    void warn(std::string_view msg, std::initializer_list<LogField> f = {}) {
        log(LogLevel::warn, msg, f);
    }
    void error(std::string_view msg, std::initializer_list<LogField> f = {}) {
        log(LogLevel::error, msg, f);
    }
    void debug(std::string_view msg, std::initializer_list<LogField> f = {}) {
        log(LogLevel::debug, msg, f);
    }

    // flush writes, for every warning whose window has ended with lines suppressed, one
    // line with their count (so the count is told even when the warning does not come
    // back). The daemon calls it about once a second.
    void flush();

private:
    struct Window {
        uint64_t start_ms = 0;
        uint32_t count = 0;
        uint32_t suppressed = 0;
    };
    void emit(LogLevel level, std::string_view msg, std::span<const LogField> fields);
    void summarize(std::string_view msg, Window& w);
    void flush_window_counts(uint64_t now, bool all);
    LogLevel min_ = LogLevel::info;
    bool json_ = false;
    bool journald_ = false;
    std::map<std::string, Window, std::less<>> warn_windows_;
    uint64_t last_flush_ms_ = 0;
};

// The daemon's one logger (process-wide state belongs to the daemon, never to the core).
Logger& logger();

// parse_level maps "debug|info|warn|error" to a level.
LogLevel parse_level(std::string_view s);

// json_escape appends |s| to |out| as the inside of a JSON string.
void json_escape(std::string_view s, std::string& out);

}  // namespace svcdht::platform
