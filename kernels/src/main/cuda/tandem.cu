// Tandem's transformer op set in CUDA C, the same ops and numerics as opencl/tandem.cl.
//
// Compiled to PTX by tools/cuda-ptx (nvcc -ptx -arch=compute_80 --fmad=false -O3); the PTX is a
// resource of the kernels module and device-gpu's CudaKernels launches it through the driver API.
// --fmad=false because Java never fuses a multiply and an add: every fmaf below is one the host
// makes too, and no other product may be contracted into an add.
//
// Activations are F32. Weights stay in their GGUF layout, row by row:
//   F32, F16 (IEEE half), BF16 (upper half of an F32),
//   Q8_0 = {half d; int8 q[32]} (34 bytes), value = q*d,
//   Q4_0 = {half d; uint8 qs[16]} (18 bytes), low nibbles = elements 0-15, high = 16-31,
//          value = (nibble-8)*d.
// Block formats are only 2-byte aligned (34 and 18 bytes), so they are read in 16-bit units.
// Every reduction has a fixed order that depends on the row's length only, never on the grid, so a
// result is the same in every run and in every batch it is part of. Each kernel's launch geometry is
// written above it; Java declares each kernel's parameters once (CudaKernel), and CudaLaunchTableTest
// compares them with this file's PTX.

#include <cuda_fp16.h>
#include <stdint.h>

#define WARP 32
#define FULL_MASK 0xffffffffu
// Activation rows a matmul reads against each weight row it loads (OpenCL's TB).
#define TB 4
// Weight rows per matmul block: one warp each.
#define MATMUL_WARPS 8
// Largest head the attention kernels keep in shared memory.
#define MAX_HEAD_DIM 256
// Largest host vector (512 bits of floats): the host dot's lane count is a launch argument.
#define MAX_HOST_FL 16

__device__ __forceinline__ float half_to_float(uint16_t h) { return __half2float(__ushort_as_half(h)); }
__device__ __forceinline__ float bf16_to_float(uint32_t h) { return __uint_as_float(h << 16); }

__device__ __forceinline__ float warp_sum(float v) {
    // Butterfly: every lane ends with the same total, in the same order every launch.
    for (int s = WARP / 2; s > 0; s >>= 1) v += __shfl_xor_sync(FULL_MASK, v, s);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int s = WARP / 2; s > 0; s >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, s));
    return v;
}

// ---- the host's float arithmetic (Vec.dot, Exp.exp) ----

// Vec.dot for one thread, with FL host lanes: two FL-lane fma accumulators over 2*FL-wide steps,
// one more FL step, their lane sums, the butterfly, then the tail by plain multiply and add.
template <int FL>
__device__ float host_dot_seq(const float* a, const float* b, const int n) {
    float acc0[FL], acc1[FL];
#pragma unroll
    for (int l = 0; l < FL; l++) acc0[l] = acc1[l] = 0.0f;
    int j = 0;
    for (; j + 2 * FL <= n; j += 2 * FL) {
#pragma unroll
        for (int l = 0; l < FL; l++) {
            acc0[l] = fmaf(a[j + l], b[j + l], acc0[l]);
            acc1[l] = fmaf(a[j + FL + l], b[j + FL + l], acc1[l]);
        }
    }
    for (; j + FL <= n; j += FL) {
#pragma unroll
        for (int l = 0; l < FL; l++) acc0[l] = fmaf(a[j + l], b[j + l], acc0[l]);
    }
#pragma unroll
    for (int l = 0; l < FL; l++) acc0[l] = acc0[l] + acc1[l];
#pragma unroll
    for (int s = FL / 2; s >= 1; s >>= 1) {
#pragma unroll
        for (int i = 0; i < s; i++) acc0[i] = acc0[i] + acc0[i + s];
    }
    float sum = acc0[0];
    for (; j < n; j++) sum = sum + a[j] * b[j];
    return sum;
}

// The same Vec.dot by one warp: lane l < fl runs the chain of acc0[l], lane fl + l that of acc1[l]
// (each chain is sequential in the host too), then the shuffles add them as the host's butterfly
// does. Lane 0 returns the host's bits; fl is a power of two <= 16.
__device__ float host_dot_warp(const float* a, const float* b, const int n, const int fl) {
    const int lane = threadIdx.x & (WARP - 1);
    const int step = 2 * fl;
    const int pairs_end = n / step * step;
    float acc = 0.0f;
    if (lane < step) {
        for (int j = 0; j < pairs_end; j += step) acc = fmaf(a[j + lane], b[j + lane], acc);
    }
    int j = pairs_end;
    if (j + fl <= n) {
        if (lane < fl) acc = fmaf(a[j + lane], b[j + lane], acc);
        j += fl;
    }
    acc = acc + __shfl_down_sync(FULL_MASK, acc, fl);  // acc0[l] + acc1[l] for l < fl
    for (int s = fl / 2; s >= 1; s >>= 1) acc = acc + __shfl_down_sync(FULL_MASK, acc, s);
    if (lane == 0) {
        for (; j < n; j++) acc = acc + a[j] * b[j];
    }
    return acc;
}

// Exp.exp: Cephes expf in plain float operations (its constants and steps, in its order).
__device__ float host_exp(const float x) {
    if (x > 88.72283f) return __int_as_float(0x7f800000);
    if (x < -86.9f) return 0.0f;
    const float shifter = 0x1.8p23f;
    const float t = x * 1.44269504088896341f + shifter;
    const float n = t - shifter;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float y = p * (r * r) + r + 1.0f;
    const float half_scale = __int_as_float((__float_as_int(t) - __float_as_int(shifter) + 126) << 23);
    return (y * 2.0f) * half_scale;
}

// ---- per-format partial dot products of one weight row, one warp ----
// Each lane accumulates its strided share of the row against T activation rows (x + t*cols);
// the caller sums the lanes. Rows whose length keeps 16-byte alignment are read with uint4/float4
// loads (8 halves or 4 floats per lane per load, consecutive lanes on consecutive 16 bytes).

template <int T>
__device__ void dot_f32(const float* w, const float* x, const int cols, float* acc) {
    const int lane = threadIdx.x & (WARP - 1);
    if ((cols & 3) == 0) {
#pragma unroll 4
        for (int j = lane * 4; j < cols; j += WARP * 4) {
            const float4 wv = *reinterpret_cast<const float4*>(w + j);
#pragma unroll
            for (int t = 0; t < T; t++) {
                const float4 xv = *reinterpret_cast<const float4*>(x + (size_t) t * cols + j);
                acc[t] += wv.x * xv.x + wv.y * xv.y + wv.z * xv.z + wv.w * xv.w;
            }
        }
    } else {
        for (int j = lane; j < cols; j += WARP) {
            const float wv = w[j];
#pragma unroll
            for (int t = 0; t < T; t++) acc[t] += wv * x[(size_t) t * cols + j];
        }
    }
}

__device__ __forceinline__ float dot8(const float (&wv)[8], const float* x) {
    const float4 a = *reinterpret_cast<const float4*>(x);
    const float4 b = *reinterpret_cast<const float4*>(x + 4);
    return (wv[0] * a.x + wv[1] * a.y + wv[2] * a.z + wv[3] * a.w)
         + (wv[4] * b.x + wv[5] * b.y + wv[6] * b.z + wv[7] * b.w);
}

// F16 and BF16: one uint4 = 8 weights; BF16 is the upper half of an F32.
template <int T, bool BF16>
__device__ void dot_16bit(const uint16_t* w, const float* x, const int cols, float* acc) {
    const int lane = threadIdx.x & (WARP - 1);
    if ((cols & 7) == 0) {
#pragma unroll 4
        for (int j = lane * 8; j < cols; j += WARP * 8) {
            const uint4 raw = *reinterpret_cast<const uint4*>(w + j);
            const uint32_t words[4] = {raw.x, raw.y, raw.z, raw.w};
            float wv[8];
#pragma unroll
            for (int k = 0; k < 4; k++) {
                const uint32_t lo = words[k] & 0xffffu, hi = words[k] >> 16;
                wv[2 * k] = BF16 ? bf16_to_float(lo) : half_to_float((uint16_t) lo);
                wv[2 * k + 1] = BF16 ? bf16_to_float(hi) : half_to_float((uint16_t) hi);
            }
#pragma unroll
            for (int t = 0; t < T; t++) acc[t] += dot8(wv, x + (size_t) t * cols + j);
        }
    } else {
        for (int j = lane; j < cols; j += WARP) {
            const float wv = BF16 ? bf16_to_float(w[j]) : half_to_float(w[j]);
#pragma unroll
            for (int t = 0; t < T; t++) acc[t] += wv * x[(size_t) t * cols + j];
        }
    }
}

// acc[t] += d * (q . x[t*cols .. t*cols+32)) for one dequantized block, x read as float4.
template <int T>
__device__ __forceinline__ void block_dot(const float (&q)[32], const float d, const float* x, const int cols, float* acc) {
#pragma unroll
    for (int t = 0; t < T; t++) {
        const float* xb = x + (size_t) t * cols;
        float s = 0.0f;
#pragma unroll
        for (int k = 0; k < 32; k += 4) {
            const float4 xv = *reinterpret_cast<const float4*>(xb + k);
            s += q[k] * xv.x + q[k + 1] * xv.y + q[k + 2] * xv.z + q[k + 3] * xv.w;
        }
        acc[t] += d * s;
    }
}

// Q8_0: one block (34 bytes) per lane and step, read as 17 16-bit words.
template <int T>
__device__ void dot_q8_0(const uint8_t* w, const float* x, const int cols, float* acc) {
    const int lane = threadIdx.x & (WARP - 1);
    const int blocks = cols / 32;
#pragma unroll 4
    for (int b = lane; b < blocks; b += WARP) {
        const uint16_t* block = reinterpret_cast<const uint16_t*>(w + (size_t) b * 34);
        const float d = half_to_float(block[0]);
        float q[32];
#pragma unroll
        for (int k = 0; k < 16; k++) {
            const uint16_t pair = block[1 + k];
            q[2 * k] = (float) (int8_t) (pair & 0xff);
            q[2 * k + 1] = (float) (int8_t) (pair >> 8);
        }
        block_dot<T>(q, d, x + (size_t) b * 32, cols, acc);
    }
}

// Q4_0: one block (18 bytes) per lane and step; byte i holds elements i (low) and 16+i (high).
template <int T>
__device__ void dot_q4_0(const uint8_t* w, const float* x, const int cols, float* acc) {
    const int lane = threadIdx.x & (WARP - 1);
    const int blocks = cols / 32;
#pragma unroll 4
    for (int b = lane; b < blocks; b += WARP) {
        const uint16_t* block = reinterpret_cast<const uint16_t*>(w + (size_t) b * 18);
        const float d = half_to_float(block[0]);
        float q[32];
#pragma unroll
        for (int k = 0; k < 8; k++) {
            const uint16_t pair = block[1 + k];
            q[2 * k] = (float) ((pair & 0x0f) - 8);
            q[2 * k + 1] = (float) (((pair >> 8) & 0x0f) - 8);
            q[16 + 2 * k] = (float) (((pair >> 4) & 0x0f) - 8);
            q[17 + 2 * k] = (float) ((pair >> 12) - 8);
        }
        block_dot<T>(q, d, x + (size_t) b * 32, cols, acc);
    }
}

enum Format { F32 = 0, F16 = 1, BF16 = 2, Q8_0 = 3, Q4_0 = 4 };

template <int FMT, int T>
__device__ __forceinline__ void dot_row(const uint8_t* w, const float* x, const int cols, float* acc) {
    if (FMT == F32) dot_f32<T>(reinterpret_cast<const float*>(w), x, cols, acc);
    else if (FMT == F16) dot_16bit<T, false>(reinterpret_cast<const uint16_t*>(w), x, cols, acc);
    else if (FMT == BF16) dot_16bit<T, true>(reinterpret_cast<const uint16_t*>(w), x, cols, acc);
    else if (FMT == Q8_0) dot_q8_0<T>(w, x, cols, acc);
    else dot_q4_0<T>(w, x, cols, acc);
}

__device__ __forceinline__ size_t row_bytes(const int fmt, const int cols) {
    return fmt == F32 ? (size_t) cols * 4 : fmt == F16 || fmt == BF16 ? (size_t) cols * 2
         : (size_t) (cols / 32) * (fmt == Q8_0 ? 34 : 18);
}

// ---- matmul: out[b, r] = sum_j W[r, j] * x[b, j] (fp32 activations) ----
// grid (ceil(rows / 8), ceil(batch / 4)), block 256, no dynamic shared memory: one warp per weight
// row and tile of TB activation rows; the row is read once per tile. Batch 1 is the decode matvec.
template <int FMT>
__device__ void matmul_body(const uint8_t* weights, const float* x, float* out, const int rows,
                            const int cols, const int batch) {
    const int r = blockIdx.x * MATMUL_WARPS + (threadIdx.x >> 5);
    if (r >= rows) return;  // the whole warp: no block-wide barrier follows
    const int b0 = blockIdx.y * TB;
    const int tiles = min(TB, batch - b0);
    const uint8_t* w = weights + (size_t) r * row_bytes(FMT, cols);
    const float* xb = x + (size_t) b0 * cols;
    float acc[TB] = {0.0f, 0.0f, 0.0f, 0.0f};
    // Literal tile counts, so the loops unroll and acc stays in registers.
    if (tiles == TB) dot_row<FMT, TB>(w, xb, cols, acc);
    else for (int t = 0; t < tiles; t++) dot_row<FMT, 1>(w, xb + (size_t) t * cols, cols, acc + t);
    for (int t = 0; t < tiles; t++) {
        const float total = warp_sum(acc[t]);
        if ((threadIdx.x & (WARP - 1)) == 0) out[(size_t) (b0 + t) * rows + r] = total;
    }
}

#define MATMUL_KERNEL(NAME, FMT)                                                                   \
extern "C" __global__ void __launch_bounds__(256) NAME(const uint8_t* weights, const float* x,   \
        float* out, const int rows, const int cols, const int batch) {                             \
    matmul_body<FMT>(weights, x, out, rows, cols, batch);                                          \
}

MATMUL_KERNEL(matmul_f32, F32)
MATMUL_KERNEL(matmul_f16, F16)
MATMUL_KERNEL(matmul_bf16, BF16)
MATMUL_KERNEL(matmul_q8_0, Q8_0)
MATMUL_KERNEL(matmul_q4_0, Q4_0)

// ---- embed: out[b] = table[tokens[b]] dequantized ----
// grid (count, ceil(cols / 256)), block 256: one thread per output element.

#define EMBED_PROLOGUE                                                        \
    const int b = blockIdx.x;                                                 \
    const int j = blockIdx.y * blockDim.x + threadIdx.x;                      \
    if (j >= cols) return;                                                    \
    const size_t token = (size_t) tokens[b];                                  \
    float* o = out + (size_t) b * cols + j

extern "C" __global__ void embed_f32(const float* table, const int* tokens, float* out, const int cols) {
    EMBED_PROLOGUE;
    *o = table[token * cols + j];
}

extern "C" __global__ void embed_f16(const uint16_t* table, const int* tokens, float* out, const int cols) {
    EMBED_PROLOGUE;
    *o = half_to_float(table[token * cols + j]);
}

extern "C" __global__ void embed_bf16(const uint16_t* table, const int* tokens, float* out, const int cols) {
    EMBED_PROLOGUE;
    *o = bf16_to_float(table[token * cols + j]);
}

extern "C" __global__ void embed_q8_0(const uint8_t* table, const int* tokens, float* out, const int cols) {
    EMBED_PROLOGUE;
    const uint8_t* block = table + (token * (cols / 32) + j / 32) * 34;
    const float d = half_to_float(*reinterpret_cast<const uint16_t*>(block));
    *o = d * (float) (int8_t) block[2 + j % 32];
}

extern "C" __global__ void embed_q4_0(const uint8_t* table, const int* tokens, float* out, const int cols) {
    EMBED_PROLOGUE;
    const uint8_t* block = table + (token * (cols / 32) + j / 32) * 18;
    const float d = half_to_float(*reinterpret_cast<const uint16_t*>(block));
    const int k = j % 32;
    const uint8_t q = block[2 + (k & 15)];
    const int nibble = k < 16 ? (q & 0x0f) : (q >> 4);
    *o = d * (float) (nibble - 8);
}

// ---- rmsnorm: out[b] = x[b] / sqrt(mean(x[b]^2) + eps) * weight ----
// grid (batch), block 256. The host's arithmetic (Ops.rmsnorm): the sum of squares by Vec.dot
// (warp 0, host_dot_warp), 1/sqrt in double, then (x*inv)*w per element. out may alias x: each
// element is read and written by one thread, after the sum is complete.
extern "C" __global__ void __launch_bounds__(256) rmsnorm(float* out, const float* x, const float* weight,
        const int n, const float eps, const int host_fl) {
    __shared__ float inv_shared;
    const size_t row = (size_t) blockIdx.x * n;
    if (threadIdx.x < WARP) {
        const float ss = host_dot_warp(x + row, x + row, n, host_fl);
        if (threadIdx.x == 0) {
            inv_shared = (float) (1.0 / sqrt((double) (__fdiv_rn(ss, (float) n) + eps)));
        }
    }
    __syncthreads();
    const float inv = inv_shared;
    for (int j = threadIdx.x; j < n; j += blockDim.x) out[row + j] = x[row + j] * inv * weight[j];
}

// ---- rope: rotate adjacent pairs (2i, 2i+1) of every head by (pos0 + b) * inv_freq[i] ----
// grid (batch, ceil(n_heads * head_dim / 2 / 128)), block 128: one thread per pair. The angle,
// its cos/sin and the rotation in double, as the host's ScalarOps.rope.
extern "C" __global__ void rope(float* vec, const float* inv_freq, const int n_heads, const int head_dim,
        const int pos0) {
    const int b = blockIdx.x;
    const int pair = blockIdx.y * blockDim.x + threadIdx.x;
    const int half_dim = head_dim / 2;
    if (pair >= n_heads * half_dim) return;
    const int h = pair / half_dim, i = pair % half_dim;
    const double angle = (double) (pos0 + b) * (double) inv_freq[i];
    const double c = cos(angle), s = sin(angle);
    float* p = vec + (size_t) b * n_heads * head_dim + (size_t) h * head_dim + 2 * i;
    const double v0 = p[0], v1 = p[1];
    p[0] = (float) (v0 * c - v1 * s);
    p[1] = (float) (v0 * s + v1 * c);
}

// ---- attention: causal GQA; contiguous (maxPositions, n_kv_heads*head_dim) or paged KV ----
// grid (n_heads, batch), block 128. Row b attends positions [0, last], with Ops.attendHead's arithmetic:
// scores by Vec.dot (a thread per position) times 1/sqrt(head_dim), the weights' exponentials (parallel)
// and sum (thread 0), then per output element an fma chain over the positions in order. Scores live in
// global scratch (a max_len slice per (row, head)): a context can exceed shared memory.
#define ATTENTION_THREADS 128
struct ContiguousKv { __device__ __forceinline__ size_t row(const int t) const { return (size_t) t; } };

struct PagedKv {
    const int* table;
    int block_size;
    __device__ __forceinline__ size_t row(const int t) const {
        return (size_t) table[t / block_size] * block_size + t % block_size;
    }
};

template <int FL, typename Kv>
__device__ float score_max(const float* qh, const float* keys, float* s, const Kv kv, const int last,
                           const size_t kv_col, const int kv_stride, const int head_dim, const float scale) {
    float local_max = -__int_as_float(0x7f800000);
    for (int t = threadIdx.x; t <= last; t += blockDim.x) {
        const float* k = keys + kv.row(t) * kv_stride + kv_col;
        const float dotv = host_dot_seq<FL>(qh, k, head_dim) * scale;
        s[t] = dotv;
        local_max = fmaxf(local_max, dotv);
    }
    return local_max;
}

template <typename Kv>
__device__ void attend(float* out, const float* q, const float* keys, const float* values, float* s,
                       const Kv kv, const int last, const int h, const int b, const int n_heads,
                       const int n_kv_heads, const int head_dim, const int host_fl) {
    __shared__ float qh[MAX_HEAD_DIM];
    __shared__ float warp_maxes[ATTENTION_THREADS / WARP];
    __shared__ float inv_shared;
    const int kvh = h / (n_heads / n_kv_heads);
    const int kv_stride = n_kv_heads * head_dim;
    const size_t kv_col = (size_t) kvh * head_dim;
    const size_t q_off = ((size_t) b * n_heads + h) * head_dim;
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) qh[d] = q[q_off + d];
    __syncthreads();

    const float scale = (float) (1.0 / sqrt((double) head_dim));
    float local_max;
    switch (host_fl) {
        case 1: local_max = score_max<1>(qh, keys, s, kv, last, kv_col, kv_stride, head_dim, scale); break;
        case 2: local_max = score_max<2>(qh, keys, s, kv, last, kv_col, kv_stride, head_dim, scale); break;
        case 4: local_max = score_max<4>(qh, keys, s, kv, last, kv_col, kv_stride, head_dim, scale); break;
        case 8: local_max = score_max<8>(qh, keys, s, kv, last, kv_col, kv_stride, head_dim, scale); break;
        default: local_max = score_max<16>(qh, keys, s, kv, last, kv_col, kv_stride, head_dim, scale); break;
    }
    local_max = warp_max(local_max);
    if ((threadIdx.x & (WARP - 1)) == 0) warp_maxes[threadIdx.x / WARP] = local_max;
    __syncthreads();  // also makes every score visible to every thread
    float max_score = warp_maxes[0];
    for (int w = 1; w < ATTENTION_THREADS / WARP; w++) max_score = fmaxf(max_score, warp_maxes[w]);

    // Ops.attentionWeights: host_exp (Exp.exp) of s - max; their sum in host_fl lanes, Vec.sum's butterfly, the tail.
    for (int t = threadIdx.x; t <= last; t += blockDim.x) s[t] = host_exp(s[t] - max_score);
    __syncthreads();
    if (threadIdx.x == 0) {
        float acc[MAX_HOST_FL];
        const int n = last + 1, whole = n - n % host_fl;
        for (int l = 0; l < host_fl; l++) acc[l] = 0.0f;
        for (int t = 0; t < whole; t++) acc[t % host_fl] = acc[t % host_fl] + s[t];
        for (int st = host_fl / 2; st >= 1; st >>= 1) for (int i = 0; i < st; i++) acc[i] = acc[i] + acc[i + st];
        float sum = acc[0];
        for (int t = whole; t < n; t++) sum += s[t];
        inv_shared = __fdiv_rn(1.0f, sum);
    }
    __syncthreads();
    const float inv = inv_shared;
    for (int t = threadIdx.x; t <= last; t += blockDim.x) s[t] = s[t] * inv;
    __syncthreads();

    // The host's vector lanes fma; its scalar tail (head_dim % host_fl elements) multiplies and adds.
    const int vector_part = head_dim - head_dim % host_fl;
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
        const float* v = values + kv_col + d;
        float acc = 0.0f;
        if (d < vector_part) {
            for (int t = 0; t <= last; t++) acc = fmaf(v[kv.row(t) * kv_stride], s[t], acc);
        } else {
            for (int t = 0; t <= last; t++) acc = acc + s[t] * v[kv.row(t) * kv_stride];
        }
        out[q_off + d] = acc;
    }
}

// Contiguous: row b sits at position start_pos + b.
extern "C" __global__ void __launch_bounds__(ATTENTION_THREADS) attention(float* out, const float* q,
        const float* keys, const float* values, float* scores, const int start_pos, const int n_heads,
        const int n_kv_heads, const int head_dim, const int max_len, const int host_fl) {
    const int h = blockIdx.x, b = blockIdx.y;
    float* s = scores + ((size_t) b * n_heads + h) * max_len;
    attend(out, q, keys, values, s, ContiguousKv{}, start_pos + b, h, b, n_heads, n_kv_heads, head_dim, host_fl);
}

// Paged: row b attends positions [0, positions[b]] of its own sequence, whose position t lies in
// pool row tables[b * table_stride + t / block_size] * block_size + t % block_size. The arithmetic
// is attention's, term for term.
extern "C" __global__ void __launch_bounds__(ATTENTION_THREADS) attention_paged(float* out, const float* q,
        const float* keys, const float* values, float* scores, const int* positions, const int* tables,
        const int table_stride, const int block_size, const int n_heads, const int n_kv_heads,
        const int head_dim, const int max_len, const int host_fl) {
    const int h = blockIdx.x, b = blockIdx.y;
    float* s = scores + ((size_t) b * n_heads + h) * max_len;
    const PagedKv kv{tables + (size_t) b * table_stride, block_size};
    attend(out, q, keys, values, s, kv, positions[b], h, b, n_heads, n_kv_heads, head_dim, host_fl);
}

// ---- elementwise: grid (ceil(n / 256)), block 256 ----

extern "C" __global__ void silu_mul(float* gate, const float* up, const unsigned long long n) {
    const unsigned long long i = (unsigned long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        const float g = gate[i];
        gate[i] = __fdiv_rn(g, 1.0f + host_exp(-g)) * up[i];  // Ops.siluMul's operations
    }
}

extern "C" __global__ void add(float* acc, const float* x, const unsigned long long n) {
    const unsigned long long i = (unsigned long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) acc[i] = acc[i] + x[i];
}

// ---- integer dot for Q8_0 and Q4_0 (tandem.quantDot=int8, the host's default) ----
// The host's arithmetic (kernels/Q8Activations.java, IntDot.java), operation for operation:
// quantize_q8 turns each block of 32 activations into 32 integers in [-127, 127] and a scale
// d = max|x| / 127 (both divisions correctly rounded, q = x * (1/d) rounded to nearest even). The
// matmul forms, per weight block, 8 exact integer lanes (lane k = the products of elements 2k,
// 2k+1, 16+2k, 17+2k), fma's each lane, as a float, times (d_w * d_a) into lane k of an 8-lane
// accumulator, block after block, and sums the lanes in the host's butterfly
// ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)). Each lane's chain is sequential over the blocks, as in the
// host; the 8 chains of a row run on 8 threads.

// grid (ceil(blocks / 256)), block 256: one thread per block of 32 activations (all rows back to back).
extern "C" __global__ void quantize_q8(const float* x, int8_t* q, float* d, const int blocks) {
    const int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= blocks) return;
    const float* xb = x + (size_t) b * 32;
    float amax = 0.0f;
    for (int k = 0; k < 32; k++) amax = fmaxf(amax, fabsf(xb[k]));
    const float db = __fdiv_rn(amax, 127.0f);
    const float id = db == 0.0f ? 0.0f : __fdiv_rn(1.0f, db);
    d[b] = db;
    int8_t* qb = q + (size_t) b * 32;
    for (int k = 0; k < 32; k++) qb[k] = (int8_t) __float2int_rn(xb[k] * id);
}

__device__ __forceinline__ int sext8(const uint32_t v) { return (int) (int8_t) (v & 0xff); }

// Lane k's four weights of a block, as integers: elements 2k, 2k+1, 16+2k, 17+2k.
template <int FMT>
__device__ __forceinline__ void lane_weights(const uint8_t* block, const int k, int (&wq)[4]) {
    if (FMT == Q8_0) {
        const uint16_t lo = *reinterpret_cast<const uint16_t*>(block + 2 + 2 * k);
        const uint16_t hi = *reinterpret_cast<const uint16_t*>(block + 2 + 16 + 2 * k);
        wq[0] = sext8(lo); wq[1] = sext8(lo >> 8); wq[2] = sext8(hi); wq[3] = sext8(hi >> 8);
    } else {
        const uint16_t qs = *reinterpret_cast<const uint16_t*>(block + 2 + 2 * k);
        wq[0] = (int) (qs & 0x0f) - 8;
        wq[1] = (int) ((qs >> 8) & 0x0f) - 8;
        wq[2] = (int) ((qs >> 4) & 0x0f) - 8;
        wq[3] = (int) (qs >> 12) - 8;
    }
}

template <int FMT, int T>
__device__ void dot_i8(const uint8_t* w, const int8_t* xq, const float* xd, const int blocks, const int k,
                       float* acc) {
    const int block_bytes = FMT == Q8_0 ? 34 : 18;
    // Unrolled so the loads of the next blocks are in flight while this block's fma waits: the fma
    // chain per lane must stay in block order (the host's bits), the loads need not wait for it.
#pragma unroll 8
    for (int b = 0; b < blocks; b++) {
        const uint8_t* block = w + (size_t) b * block_bytes;
        const float dw = half_to_float(*reinterpret_cast<const uint16_t*>(block));
        int wq[4];
        lane_weights<FMT>(block, k, wq);
#pragma unroll
        for (int t = 0; t < T; t++) {
            const size_t a = (size_t) t * blocks + b;
            const int8_t* qa = xq + a * 32;
            const uint16_t lo = *reinterpret_cast<const uint16_t*>(qa + 2 * k);
            const uint16_t hi = *reinterpret_cast<const uint16_t*>(qa + 16 + 2 * k);
            const int lane = wq[0] * sext8(lo) + wq[1] * sext8(lo >> 8) + wq[2] * sext8(hi) + wq[3] * sext8(hi >> 8);
            acc[t] = fmaf((float) lane, dw * xd[a], acc[t]);
        }
    }
}

// grid (ceil(rows / 32), ceil(batch / 4)), block 256: 8 threads per weight row (one per lane of
// the host's accumulator), 32 rows per block; xq/xd from quantize_q8.
template <int FMT>
__device__ void matmul_i8_body(const uint8_t* weights, const int8_t* xq, const float* xd, float* out,
                               const int rows, const int cols, const int batch) {
    const int r = blockIdx.x * 32 + threadIdx.x / 8;
    const int k = threadIdx.x & 7;
    // Out-of-range rows compute row rows-1 and write nothing: every lane must reach the shuffles.
    const int row = min(r, rows - 1);
    const int b0 = blockIdx.y * TB;
    const int tiles = min(TB, batch - b0);
    const int blocks = cols / 32;
    const uint8_t* w = weights + (size_t) row * blocks * (FMT == Q8_0 ? 34 : 18);
    const int8_t* q = xq + (size_t) b0 * cols;
    const float* d = xd + (size_t) b0 * blocks;
    float acc[TB] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (tiles == TB) dot_i8<FMT, TB>(w, q, d, blocks, k, acc);
    else for (int t = 0; t < tiles; t++) dot_i8<FMT, 1>(w, q + (size_t) t * cols, d + (size_t) t * blocks, blocks, k, acc + t);
    for (int t = 0; t < TB; t++) {
        // The host's butterfly over lanes k = 0..7 of this row's group of 8 threads.
        float v = acc[t] + __shfl_down_sync(FULL_MASK, acc[t], 4, 8);  // k < 4: a_k + a_{k+4}
        v = v + __shfl_down_sync(FULL_MASK, v, 2, 8);                   // k < 2: v_k + v_{k+2}
        v = v + __shfl_down_sync(FULL_MASK, v, 1, 8);                   // k = 0: (v0+v2) + (v1+v3)
        if (k == 0 && r < rows && t < tiles) out[(size_t) (b0 + t) * rows + r] = v;
    }
}

#define MATMUL_I8_KERNEL(NAME, FMT)                                                                \
extern "C" __global__ void __launch_bounds__(256) NAME(const uint8_t* weights, const int8_t* xq,  \
        const float* xd, float* out, const int rows, const int cols, const int batch) {            \
    matmul_i8_body<FMT>(weights, xq, xd, out, rows, cols, batch);                                  \
}

MATMUL_I8_KERNEL(matmul_q8_0_i8, Q8_0)
MATMUL_I8_KERNEL(matmul_q4_0_i8, Q4_0)
