// SPDX-License-Identifier: MIT
// The process metrics of the Prometheus conventions (resident memory, CPU time, open file
// descriptors, start time), read from /proc. The only file reads behind /metrics; the
// admin plane's pure parts get these numbers through their NodeView.
#pragma once

namespace svcdht::platform {

struct ProcessStats {
    double rss_bytes = 0, cpu_secs = 0, start_secs = 0, open_fds = 0;
};

ProcessStats read_process_stats();

}  // namespace svcdht::platform
