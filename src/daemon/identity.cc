// SPDX-License-Identifier: MIT
// Key file reading and writing. The file format is one header line and the seed in hex:
//   svc-dht-ed25519-seed-v1
//   <64 lowercase hex>
#include "daemon/identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "platform/files.h"
#include "platform/sodium.h"
#include "svcdht/id.h"

namespace svcdht::daemon {

namespace {
constexpr char HEADER[] = "svc-dht-ed25519-seed-v1";

std::string sys_err(const std::string& what, const std::string& path) {
    return what + " " + path + ": " + std::strerror(errno);
}

bool make_parent(const std::string& path, std::string* err) {
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0) return true;
    const std::string dir = path.substr(0, slash);
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) return true;
    if (!make_parent(dir, err)) return false;
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        *err = sys_err("cannot create directory", dir);
        return false;
    }
    return true;
}
}  // namespace

bool write_key_file(const std::string& path, const core::Seed32& seed, bool force,
                    std::string* err) {
    if (!make_parent(path, err)) return false;
    const int flags = O_WRONLY | O_CREAT | (force ? O_TRUNC : O_EXCL);
    const int fd = ::open(path.c_str(), flags, 0600);
    if (fd < 0) {
        *err = errno == EEXIST
                   ? "refusing to overwrite existing key file " + path + " (use --force)"
                   : sys_err("cannot create key file", path);
        return false;
    }
    std::string body = std::string(HEADER) + "\n";
    std::string hex(64, '0');
    core::hex_encode({seed.data(), seed.size()}, hex.data());
    body += hex + "\n";
    const bool ok = ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size()) &&
                    ::fsync(fd) == 0;
    ::fchmod(fd, 0600);
    ::close(fd);
    if (!ok) *err = sys_err("cannot write key file", path);
    return ok;
}

bool read_key_file(const std::string& path, core::Seed32* seed, std::string* err,
                   std::string* warning) {
    std::string text;
    if (!platform::read_small_file(path, platform::MAX_SECRET_FILE, &text, err)) {
        *err = "key file: " + *err;
        return false;
    }
    std::istringstream f(text);
    std::string header, hex;
    std::getline(f, header);
    std::getline(f, hex);
    if (header != HEADER) {
        *err = "key file " + path + " does not start with " + HEADER;
        return false;
    }
    auto id = core::parse_hex_id(hex);
    if (!id.ok()) {
        *err = "key file " + path + ": " + core::err_message(id.err());
        return false;
    }
    std::memcpy(seed->data(), id->b.data(), 32);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
        *warning = "key file " + path + " is readable by others; chmod 600 it";
    return true;
}

bool load_or_create(const std::string& path, core::Seed32* out, bool* created, std::string* err,
                    std::string* warning) {
    core::Seed32 seed{};
    *created = false;
    if (path.empty()) {
        seed = platform::random_seed();
    } else if (::access(path.c_str(), F_OK) == 0) {
        if (!read_key_file(path, &seed, err, warning)) return false;
    } else {
        seed = platform::random_seed();
        if (!write_key_file(path, seed, false, err)) return false;
        *created = true;
    }
    *out = seed;
    return true;
}

}  // namespace svcdht::daemon
