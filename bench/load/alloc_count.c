// SPDX-License-Identifier: MIT
// libsvcdht_alloc_count.so: an LD_PRELOAD shim that counts every heap allocation a process
// makes (malloc, calloc, realloc, the memalign family) and every free, in two 64-bit
// counters of a shared file that another process maps (bench/load reads them around its
// measured run). It forwards to glibc's own entry points (__libc_malloc and friends), so it
// needs no dlsym, which may itself allocate. The daemon has no allocation hook of its own;
// a replaced operator new (as tests/unit/test_alloc.cc does) would need a rebuild of it.
//
//   SVCDHT_ALLOC_COUNT_FILE=/tmp/counts
//   LD_PRELOAD=build-bench/bench/libsvcdht_alloc_count.so build-rel/svc-dht ...
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void* __libc_malloc(size_t n);
extern void* __libc_calloc(size_t n, size_t size);
extern void* __libc_realloc(void* p, size_t n);
extern void* __libc_memalign(size_t align, size_t n);
extern void __libc_free(void* p);

// Until the constructor has mapped the file (and if it cannot), the counts go here.
static uint64_t g_local[2];
static uint64_t* g_counts = g_local;

__attribute__((constructor)) static void alloc_count_init(void) {
    const char* path = getenv("SVCDHT_ALLOC_COUNT_FILE");
    if (path == NULL || *path == '\0') return;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    if (ftruncate(fd, 4096) != 0) {
        close(fd);
        return;
    }
    void* p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return;
    uint64_t* c = (uint64_t*)p;
    __atomic_store_n(&c[0], __atomic_load_n(&g_local[0], __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    __atomic_store_n(&c[1], __atomic_load_n(&g_local[1], __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    g_counts = c;
}

static inline void count_alloc(void) {
    __atomic_fetch_add(&g_counts[0], 1, __ATOMIC_RELAXED);
}

void* malloc(size_t n) {
    count_alloc();
    return __libc_malloc(n);
}

void* calloc(size_t n, size_t size) {
    count_alloc();
    return __libc_calloc(n, size);
}

void* realloc(void* p, size_t n) {
    count_alloc();
    return __libc_realloc(p, n);
}

void free(void* p) {
    if (p != NULL) __atomic_fetch_add(&g_counts[1], 1, __ATOMIC_RELAXED);
    __libc_free(p);
}

void* memalign(size_t align, size_t n) {
    count_alloc();
    return __libc_memalign(align, n);
}

void* aligned_alloc(size_t align, size_t n) {
    count_alloc();
    return __libc_memalign(align, n);
}

int posix_memalign(void** out, size_t align, size_t n) {
    if (align < sizeof(void*) || (align & (align - 1)) != 0) return EINVAL;
    count_alloc();
    void* p = __libc_memalign(align, n);
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

void* valloc(size_t n) {
    count_alloc();
    return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n);
}
