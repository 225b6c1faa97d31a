// SPDX-License-Identifier: MIT
// `svc-dht store stats|check|dump`: the operator's view of a macronode's store on disk,
// read-only, while the daemon runs or not (svc-dht(8), COMMANDS and PERSISTENCE).
#pragma once

#include <string>

namespace svcdht::daemon {

// run_store_command runs |verb| on the store under |data_dir| and returns the exit status:
// 0 done, 1 the store cannot be read or check found a problem, 2 an unknown verb.
int run_store_command(const std::string& verb, const std::string& data_dir);

}  // namespace svcdht::daemon
