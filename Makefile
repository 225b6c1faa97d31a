# svc-dht developer verbs. Meson is the real build; every target here is a thin wrapper.
#   make            build (build/)
#   make run        build and start a node with the embedded defaults
#   make check      build and run the quick suite (pure and in-process tests, seconds)
#   make test       install missing packages, build, run every test, print "N passed, N failed"
#   make example    build examples/ against the installed libsvcdht (pkg-config), run it
#   make install    meson install into $(DESTDIR)$(PREFIX) (PREFIX=/usr/local): binary, man
#                   pages, config, systemd unit, sysusers.d/tmpfiles.d, libsvcdht
#   make asan       clang + ASan/UBSan build of everything, run every test but the 1,000-node
#                   scenarios (build-asan/); the hostile suite's RSS bound is raised to 1 GiB
#                   there (shadow memory and quarantine), everything else it asserts holds
#   make sim-fuzz   random simulated networks for S seconds with invariant checks
#   make fuzz-smoke every fuzz target for 60 s (build-fuzz/), FUZZ_JOBS (the core count) at
#                   a time
#   make fuzz T=fuzz_frame S=300   one target for S seconds
#   make bench      micro-benchmarks, then the disk store's benchmark (build-bench/, release)
#   make bench-store    the disk store's benchmark alone: ingest, commit latency, file size
#                   and RSS with 1,000,000 records, lookups, restart load (ARGS="--quick")
#   make bench-cluster  the cluster workload W1-W5 (bench/cluster/cluster.py): 64 real nodes
#                   (build-rel/) on loopback in a network namespace of its own, under a flock,
#                   at replica 3 and 8, W3 driven by bench/load (build-bench/); root needed.
#                   One JSON object on stdout (and in --out FILE), a table on stderr;
#                   ARGS="--nodes 64,256 --out /tmp/w.json", --quick for 100 keys
#   make bench-load     W3 alone: bench/load against one node joined to a 32-node cluster, in
#                   the same namespace and lock (cluster.py --only w3)
#   make release    optimized build with LTO, libstdc++ linked in, as for an edge board
#                   (build-rel/)
#   make sim-scale N=10000 L=10000 SEED=1   one large simulated network (release build)
#   make deb        svc-dht and libsvcdht-dev .debs for this machine in packaging/out/,
#                   lintian-checked; make deb-arm64 cross-builds the arm64 ones
#   make rpm        svc-dht and libsvcdht-devel rpms (Debian's rpm), rpmlint-checked
#   make package-test   installs and runs what make deb built, unpacks and runs the rpm and
#                   the arm64 .deb (under qemu-user) when they were built
#   make cross-arm64    aarch64 release + LTO build (build-arm64/) and its tests under
#                   qemu-user: the native test programs and the daemon's integration suites
#   make footprint  binary size, idle memory and wake-ups, bytes per stored record, 64-node
#                   cluster RSS, one JSON line per arch; fails when a budget is missed
#   make diagram    docs/architecture.svg from its source, docs/architecture.dot (graphviz)
#   make chaos      16 release daemons, each in a network namespace (root): 150 s of SIGKILL
#                   and restart churn with lookups sampled every second, then a two-group
#                   partition (veth down and up): /readyz red time, recovery time. Options
#                   through ARGS (tools/chaos.sh --help). Not part of make test or CI
#   make soak       32 persistent daemons for 10 minutes: put/get load, churn, RSS of every
#                   daemon sampled, the slope per node, every acknowledged put read back
#                   (tools/chaos.sh --soak; ARGS as for chaos). Not part of make test or CI
#   make format / format-check
#   make clean

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
BENCH_BUILD?= build-bench
REL_BUILD  ?= build-rel
ARM64_BUILD?= build-arm64
MESON      ?= meson
NINJA      ?= ninja
S          ?= 60
FUZZ_JOBS  ?= $(shell nproc)
N          ?= 10000
L          ?= 10000
SEED       ?= 1
WERROR     ?= false
PREFIX     ?= /usr/local
DESTDIR    ?=
FUZZ_TARGETS = fuzz_frame fuzz_message fuzz_record fuzz_session fuzz_admin_http fuzz_config
SOURCES = $(shell git ls-files '*.cc' '*.h' 2>/dev/null || find src include tests fuzz bench tools -name '*.cc' -o -name '*.h')

.PHONY: all deps run check test example install asan fuzz fuzz-smoke sim-fuzz sim-scale sizes bench release format \
	format-check clean deb deb-arm64 rpm package-test arm64 cross-arm64 footprint \
	bench-build bench-store diagram bench-cluster bench-load chaos soak

all: deps $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

# Installs what is missing (quiet and quick when everything is present).
deps:
	@tools/install-deps.sh

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) -Dwerror=$(WERROR)

# Starts a node with the embedded defaults (peers on 0.0.0.0:9444, admin on 127.0.0.1:5301);
# extra options through ARGS, e.g. make run ARGS="--bootstrap 127.0.0.1:9445".
run: all
	$(BUILD)/svc-dht run $(ARGS)

check: all
	@$(MESON) test -C $(BUILD) --no-rebuild --print-errorlogs --suite quick

test: all
	@$(MESON) test -C $(BUILD) --no-rebuild --print-errorlogs > $(BUILD)/test-output.txt 2>&1; \
	  tail -n 40 $(BUILD)/test-output.txt; tools/test-summary.py $(BUILD)

example: all
	@tools/example-check.sh $(BUILD)

# The prefix is a build setting (the default config path is compiled in), so a new PREFIX
# reconfigures build/ first.
install: all
	$(MESON) configure $(BUILD) -Dprefix=$(PREFIX)
	$(NINJA) -C $(BUILD)
	$(MESON) install -C $(BUILD) $(if $(DESTDIR),--destdir "$(DESTDIR)")

# -fno-sanitize=vptr: nothing is built with RTTI (errors are values, no dynamic_cast),
# and UBSan's vptr check needs type info on every polymorphic object.
asan: deps
	@test -f $(ASAN_BUILD)/build.ninja || CC=clang-14 CXX=clang++-14 $(MESON) setup $(ASAN_BUILD) \
	  -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=$(WERROR) \
	  -Dc_args=-fno-sanitize-recover=all -Dcpp_args="-fno-sanitize-recover=all -fno-sanitize=vptr"
	$(NINJA) -C $(ASAN_BUILD)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  SVC_DHT_TEST_TIMEOUT_MULTIPLIER=4 SVC_DHT_RSS_LIMIT_MIB=1024 \
	  $(MESON) test -C $(ASAN_BUILD) --no-rebuild --print-errorlogs --timeout-multiplier 4 --no-suite slow \
	  > $(ASAN_BUILD)/test-output.txt 2>&1; tail -n 40 $(ASAN_BUILD)/test-output.txt; \
	  tools/test-summary.py $(ASAN_BUILD)

$(FUZZ_BUILD)/build.ninja:
	CC=clang-14 CXX=clang++-14 $(MESON) setup $(FUZZ_BUILD) -Dfuzz=true -Dtests=false \
	  -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=$(WERROR) \
	  -Dc_args=-fno-sanitize-recover=all -Dcpp_args="-fno-sanitize-recover=all -fno-sanitize=vptr"

fuzz: deps $(FUZZ_BUILD)/build.ninja
	$(NINJA) -C $(FUZZ_BUILD)
	tools/fuzz-run.sh $(FUZZ_BUILD) $(T) $(S)

fuzz-smoke: deps $(FUZZ_BUILD)/build.ninja
	$(NINJA) -C $(FUZZ_BUILD)
	@printf '%s\n' $(FUZZ_TARGETS) | xargs -P $(FUZZ_JOBS) -I T tools/fuzz-run.sh $(FUZZ_BUILD) T $(S)
	@echo "fuzz-smoke: every target ran $(S) s without a finding"

sim-fuzz: all
	$(BUILD)/tools/dht-sim --fuzz --seconds $(S)

sizes: all
	$(BUILD)/tools/sizes

release: deps
	@test -f $(REL_BUILD)/build.ninja || $(MESON) setup $(REL_BUILD) --buildtype=release \
	  -Db_lto=true -Dstatic_libstdcxx=true -Dwerror=$(WERROR)
	$(NINJA) -C $(REL_BUILD)

# The scale figures of docs/PERFORMANCE.md come from here (FastCrypto: see that file).
sim-scale: release
	/usr/bin/time -f "wall %e s, max rss %M KiB" $(REL_BUILD)/tools/dht-sim --nodes $(N) \
	  --lookups $(L) --seed $(SEED) --fast-crypto --progress --json

# Packages are built from the tree as checked out (tracked and new files), never from build/.
deb:
	tools/package.sh deb

deb-arm64:
	tools/package.sh deb arm64

rpm:
	tools/package.sh rpm

package-test:
	tools/package-test.sh deb
	@if ls packaging/out/svc-dht-*.rpm >/dev/null 2>&1; then tools/package-test.sh rpm; fi
	@if ls packaging/out/svc-dht_*_arm64.deb >/dev/null 2>&1; then tools/package-test.sh deb-arm64; fi

# The aarch64 build: what an edge board runs (release + LTO, warnings as errors).
arm64:
	@tools/install-deps.sh cross-arm64
	@test -f $(ARM64_BUILD)/build.ninja || $(MESON) setup $(ARM64_BUILD) \
	  --cross-file tools/cross/aarch64-linux-gnu.ini --buildtype=release -Db_lto=true \
	  -Dstatic_libstdcxx=true -Dwerror=true
	$(NINJA) -C $(ARM64_BUILD)

cross-arm64: arm64
	@tools/cross-test.sh $(ARM64_BUILD)

footprint: release arm64
	tools/footprint.py --bin $(REL_BUILD)/svc-dht
	tools/footprint.py --bin $(ARM64_BUILD)/svc-dht --arch aarch64 --strip aarch64-linux-gnu-strip \
	  --wrapper "qemu-aarch64-static -L /usr/aarch64-linux-gnu"

# Chaos and soak runs on real processes (docs/PERFORMANCE.md, "Chaos and soak"): minutes
# long and root for the namespaces, so never part of make test or .ci/run.
chaos: release
	SVC_DHT_BIN=$(REL_BUILD)/svc-dht tools/chaos.sh $(ARGS)

soak: release
	SVC_DHT_BIN=$(REL_BUILD)/svc-dht tools/chaos.sh --soak $(ARGS)

bench-build: deps
	@test -f $(BENCH_BUILD)/build.ninja || $(MESON) setup $(BENCH_BUILD) -Dbench=true \
	  -Dtests=false --buildtype=release -Db_lto=true
	$(NINJA) -C $(BENCH_BUILD)

bench: bench-build
	$(BENCH_BUILD)/bench/bench_micro
	$(BENCH_BUILD)/bench/bench_store $(ARGS)

# Works in a new directory under $TMPDIR or /var/tmp (a disk, not tmpfs, for the sync mode's
# figures), removed at the end; at 1,000,000 records about 45 s, 660 MiB of memory and 330 MB
# of disk.
bench-store: bench-build
	$(BENCH_BUILD)/bench/bench_store $(ARGS)

# Figures in docs/PERFORMANCE.md ("Cluster workload"); not part of make test or CI.
bench-cluster: release bench-build
	@bench/cluster/cluster.py --bin $(REL_BUILD)/svc-dht --load $(BENCH_BUILD)/bench/load \
	  --shim $(BENCH_BUILD)/bench/libsvcdht_alloc_count.so $(ARGS)

bench-load: release bench-build
	@bench/cluster/cluster.py --bin $(REL_BUILD)/svc-dht --load $(BENCH_BUILD)/bench/load \
	  --shim $(BENCH_BUILD)/bench/libsvcdht_alloc_count.so --only w3 --nodes 32 $(ARGS)

format:
	clang-format -i $(SOURCES)

format-check:
	clang-format --dry-run -Werror $(SOURCES)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(BENCH_BUILD) $(REL_BUILD) $(ARM64_BUILD) fuzz-out \
	  packaging/out

# The architecture diagram is generated from its text source; commit both.
diagram:
	@tools/install-deps.sh diagram
	dot -Tsvg docs/architecture.dot -o docs/architecture.svg
