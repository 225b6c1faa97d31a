// SPDX-License-Identifier: MIT
// Bounded reads of operator-supplied files (see files.h).
#include "platform/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace svcdht::platform {

bool read_small_file(const std::string& path, size_t max, std::string* out, std::string* err) {
    out->clear();
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        *err = "cannot read " + path + ": " + std::strerror(errno);
        return false;
    }
    struct stat st {};
    bool ok = ::fstat(fd, &st) == 0;
    if (!ok) {
        *err = "cannot read " + path + ": " + std::strerror(errno);
    } else if (!S_ISREG(st.st_mode)) {
        *err = path + " is not a regular file";
        ok = false;
    } else if (static_cast<size_t>(st.st_size) > max) {
        *err = path + " is larger than " + std::to_string(max) + " bytes";
        ok = false;
    }
    // Read at most max + 1 bytes whatever fstat said: a file may grow while we read.
    char buf[4096];
    while (ok) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            *err = "cannot read " + path + ": " + std::strerror(errno);
            ok = false;
            break;
        }
        if (n == 0) break;
        if (out->size() + static_cast<size_t>(n) > max) {
            *err = path + " is larger than " + std::to_string(max) + " bytes";
            ok = false;
            break;
        }
        out->append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    if (!ok) out->clear();
    return ok;
}

}  // namespace svcdht::platform
