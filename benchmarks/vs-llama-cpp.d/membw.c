// Read bandwidth of this machine as benchmarks/vs-llama-cpp uses it: THREADS OpenMP threads each sum
// their share of a 1 GiB buffer (8x any L3 here) with 64-bit loads in 4 independent streams; the
// best of 10 passes, in GB/s (1e9 bytes/s). gcc -O3 -march=native vectorises the loop.
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char ** argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    size_t bytes = (size_t) 1 << 30, n = bytes / 8;
    uint64_t * buf = aligned_alloc(4096, bytes);
    if (!buf) { fprintf(stderr, "membw: cannot allocate 1 GiB\n"); return 1; }
    #pragma omp parallel for num_threads(threads)
    for (size_t i = 0; i < n; i++) buf[i] = i;
    double best = 0;
    uint64_t sink = 0;
    for (int pass = 0; pass < 10; pass++) {
        double t0 = omp_get_wtime();
        uint64_t total = 0;
        #pragma omp parallel for num_threads(threads) reduction(+:total)
        for (size_t i = 0; i < n; i += 4) {
            total += buf[i] + buf[i + 1] + buf[i + 2] + buf[i + 3];
        }
        double t = omp_get_wtime() - t0;
        sink += total;
        if (bytes / t / 1e9 > best) best = bytes / t / 1e9;
    }
    printf("%.2f\n", best);
    return sink == 42 ? 3 : 0;
}
