// SPDX-License-Identifier: MIT
// Name and message tables for Err, generated from the one X-macro in err.h.
#include "svcdht/err.h"

namespace svcdht::core {

namespace {
constexpr const char* ERR_NAMES[] = {
#define SVCDHT_ERR_NAME(name, msg) #name,
    SVCDHT_ERRORS(SVCDHT_ERR_NAME)
#undef SVCDHT_ERR_NAME
};
constexpr const char* ERR_MESSAGES[] = {
#define SVCDHT_ERR_MSG(name, msg) msg,
    SVCDHT_ERRORS(SVCDHT_ERR_MSG)
#undef SVCDHT_ERR_MSG
};
}  // namespace

const char* err_name(Err e) {
    const auto i = static_cast<unsigned>(e);
    return i < static_cast<unsigned>(ERR_COUNT) ? ERR_NAMES[i] : "unknown";
}

const char* err_message(Err e) {
    const auto i = static_cast<unsigned>(e);
    return i < static_cast<unsigned>(ERR_COUNT) ? ERR_MESSAGES[i] : "unknown error";
}

}  // namespace svcdht::core
