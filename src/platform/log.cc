// SPDX-License-Identifier: MIT
// Log line formatting and the warning rate limit. Lines go to stderr in one write(2) each,
// so lines from a crash and from normal operation never interleave mid-line.
#include "platform/log.h"

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace svcdht::platform {

namespace {

// A warning text may appear this many times per window before it is summarised.
constexpr uint32_t WARN_BURST = 5;
constexpr uint64_t WARN_WINDOW_MS = 10000;

uint64_t mono_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

const char* level_name(LogLevel l) {
    switch (l) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warn";
        case LogLevel::error: return "error";
    }
    return "info";
}

// syslog priorities, for journald's <N> prefix
int priority(LogLevel l) {
    switch (l) {
        case LogLevel::debug: return 7;
        case LogLevel::info: return 6;
        case LogLevel::warn: return 4;
        case LogLevel::error: return 3;
    }
    return 6;
}

}  // namespace

Logger& logger() {
    static Logger l;
    return l;
}

LogLevel parse_level(std::string_view s) {
    if (s == "debug") return LogLevel::debug;
    if (s == "warn") return LogLevel::warn;
    if (s == "error") return LogLevel::error;
    return LogLevel::info;
}

void json_escape(std::string_view s, std::string& out) {
    for (char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char b[8];
                    std::snprintf(b, sizeof b, "\\u%04x", c);
                    out += b;
                } else {
                    out += c;
                }
        }
    }
}

void Logger::configure(LogLevel min, bool json) {
    min_ = min;
    json_ = json;
    // Under systemd, stderr goes to the journal: a <N> prefix carries the priority.
    journald_ = std::getenv("JOURNAL_STREAM") != nullptr;
}

void Logger::log(LogLevel level, std::string_view msg, std::span<const LogField> fields) {
    if (level < min_) return;
    if (level == LogLevel::warn) {
        const uint64_t now = mono_ms();
        auto it = warn_windows_.find(msg);
        if (it == warn_windows_.end()) {
            if (warn_windows_.size() > 256) {  // bound the table itself
                flush_window_counts(now, true);
                warn_windows_.clear();
            }
            it = warn_windows_.emplace(std::string(msg), Window{now, 0, 0}).first;
        }
        Window& w = it->second;
        if (now - w.start_ms >= WARN_WINDOW_MS) {
            summarize(it->first, w);
            w = Window{now, 0, 0};
        }
        if (++w.count > WARN_BURST) {
            ++w.suppressed;
            return;
        }
    }
    emit(level, msg, fields);
}

void Logger::summarize(std::string_view msg, Window& w) {
    if (w.suppressed == 0) return;
    const std::string n = std::to_string(w.suppressed);
    const std::string window = std::to_string(WARN_WINDOW_MS);
    const LogField f[] = {{"suppressed", n}, {"window_ms", window}};
    emit(LogLevel::warn, std::string(msg) + " (repeated)", f);
    w.suppressed = 0;
}

void Logger::flush_window_counts(uint64_t now, bool all) {
    for (auto& [msg, w] : warn_windows_) {
        if (!all && now - w.start_ms < WARN_WINDOW_MS) continue;
        summarize(msg, w);
    }
}

void Logger::flush() {
    if (warn_windows_.empty()) return;
    const uint64_t now = mono_ms();
    // Called every loop turn: the windows are looked at once a second at most.
    if (now - last_flush_ms_ < 1000) return;
    last_flush_ms_ = now;
    flush_window_counts(now, false);
    // Windows that ended with nothing suppressed hold nothing to tell.
    std::erase_if(warn_windows_, [&](const auto& kv) {
        return now - kv.second.start_ms >= WARN_WINDOW_MS && kv.second.suppressed == 0;
    });
}

void Logger::emit(LogLevel level, std::string_view msg, std::span<const LogField> fields) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm {};
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  ts.tv_nsec / 1000000);
    std::string line;
    if (json_) {
        line = "{\"ts\":\"";
        line += stamp;
        line += "\",\"level\":\"";
        line += level_name(level);
        line += "\",\"msg\":\"";
        json_escape(msg, line);
        line += "\"";
        for (const LogField& f : fields) {
            line += ",\"";
            json_escape(f.key, line);
            line += "\":\"";
            json_escape(f.value, line);
            line += "\"";
        }
        line += "}\n";
    } else {
        if (journald_) line = "<" + std::to_string(priority(level)) + ">";
        line += stamp;
        line += " ";
        line += level_name(level);
        line += " ";
        line += msg;
        for (const LogField& f : fields) {
            line += " ";
            line += f.key;
            line += "=";
            // A value with spaces, quotes or control characters is quoted and escaped as
            // in JSON, so that a line stays one line whatever a peer or client sent.
            bool quote = f.value.empty();
            for (char c : f.value)
                quote |= c == ' ' || c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
            if (quote) {
                line += "\"";
                json_escape(f.value, line);
                line += "\"";
            } else {
                line += f.value;
            }
        }
        line += "\n";
    }
    (void)!::write(2, line.data(), line.size());
}

}  // namespace svcdht::platform
