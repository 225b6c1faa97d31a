// SPDX-License-Identifier: MIT
// The process's own numbers for /metrics, read from /proc (see proc.h).
#include "platform/proc.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace svcdht::platform {

ProcessStats read_process_stats() {
    ProcessStats p;
    const long page = sysconf(_SC_PAGESIZE);
    const long ticks = sysconf(_SC_CLK_TCK);
    {
        std::ifstream f("/proc/self/statm");
        unsigned long long size = 0, resident = 0;
        if (f >> size >> resident)
            p.rss_bytes = static_cast<double>(resident) * static_cast<double>(page);
    }
    {
        std::ifstream f("/proc/self/stat");
        std::string line;
        std::getline(f, line);
        // Fields after the command name (which may hold spaces) start after the last ')'.
        const size_t rp = line.rfind(')');
        if (rp != std::string::npos) {
            std::istringstream in(line.substr(rp + 2));
            std::string field;
            unsigned long long utime = 0, stime = 0, start = 0;
            for (int i = 3; i <= 22 && in >> field; ++i) {
                if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
                if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
                if (i == 22) start = std::strtoull(field.c_str(), nullptr, 10);
            }
            p.cpu_secs = static_cast<double>(utime + stime) / static_cast<double>(ticks);
            std::ifstream st("/proc/stat");
            std::string key;
            unsigned long long btime = 0;
            while (st >> key) {
                if (key == "btime") {
                    st >> btime;
                    break;
                }
            }
            p.start_secs = static_cast<double>(btime) +
                           static_cast<double>(start) / static_cast<double>(ticks);
        }
    }
    if (DIR* d = opendir("/proc/self/fd")) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.') ++p.open_fds;
        closedir(d);
        p.open_fds -= 1;  // the directory stream itself
    }
    return p;
}

}  // namespace svcdht::platform
