// Tandem's transformer op set in OpenCL C 1.2, one kernel per op and weight format.
//
// The host builds this file with -DWG=<work-group size> (a power of two) and -DMAX_HEAD_DIM=<n>.
// Activations are F32. Weights stay in their GGUF layout, row by row:
//   F32, F16 (IEEE half), BF16 (upper half of an F32),
//   Q8_0 = {half d; char q[32]} (34 bytes), value = q*d,
//   Q4_0 = {half d; uchar qs[16]} (18 bytes), low nibbles = elements 0-15, high = 16-31,
//          value = (nibble-8)*d.
// Q8_0 and Q4_0 have two matmuls: matmul_q8_0/matmul_q4_0 multiply fp32 activations (the host's
// tandem.quantDot=float), matmul_*_i8 the activations quantize_q8 rounded to 8-bit blocks (its
// default, int8), with the host's integer arithmetic; see the end of this file.
// Half values are read with vload_half so no cl_khr_fp16 is needed; block formats are 2-byte
// aligned (34 and 18 are even), which is all vload_half asks for.

#ifndef WG
#define WG 64
#endif
#ifndef MAX_HEAD_DIM
#define MAX_HEAD_DIM 256
#endif
// Java never fuses a multiply and an add; these kernels must not either where they follow the host.
#pragma OPENCL FP_CONTRACT OFF

// The host's float ops (kernels/Ops.java, their scalar twins in ColdTwins.java) reduce in the lanes
// of its vector species; HOST_FL is their count, so rmsnorm, attention and silu_mul below can give
// the host's bits (what its 8-bit activation rounding needs: see the integer dot at the end).
#ifndef HOST_FL
#define HOST_FL 8
#endif

#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#define HOST_DOUBLE double
// A float quotient taken in double and rounded to float is the correctly rounded float quotient.
inline float div_rn(float a, float b) { return (float) ((double) a / (double) b); }
#else
// Without fp64 the host's double steps (rmsnorm's 1/sqrt, rope, softmax's exp) run in float, and
// the results are close to the host's, not its bits.
#define HOST_DOUBLE float
// Correctly rounded when the host built with -cl-fp32-correctly-rounded-divide-sqrt (it does
// where the device supports it); elsewhere OpenCL allows 2.5 ulp.
inline float div_rn(float a, float b) { return a / b; }
#endif
typedef HOST_DOUBLE angle_t;

// ---- the host's float arithmetic (ColdTwins.dot, Vec.sum, Exp.exp), for one work-item ----

// Vec.dot: two HOST_FL-lane fma accumulators over 2*HOST_FL-wide steps, one more HOST_FL step,
// their lane sums, the butterfly, then the tail by plain multiply and add.
#define HOST_DOT(NAME, ASPACE)                                                                   \
inline float NAME(ASPACE const float* a, __global const float* b, const int n) {                \
    float acc0[HOST_FL], acc1[HOST_FL];                                                          \
    for (int l = 0; l < HOST_FL; l++) acc0[l] = acc1[l] = 0.0f;                                  \
    int j = 0;                                                                                   \
    for (; j + 2 * HOST_FL <= n; j += 2 * HOST_FL) {                                             \
        for (int l = 0; l < HOST_FL; l++) {                                                      \
            acc0[l] = fma(a[j + l], b[j + l], acc0[l]);                                          \
            acc1[l] = fma(a[j + HOST_FL + l], b[j + HOST_FL + l], acc1[l]);                      \
        }                                                                                        \
    }                                                                                            \
    for (; j + HOST_FL <= n; j += HOST_FL) {                                                     \
        for (int l = 0; l < HOST_FL; l++) acc0[l] = fma(a[j + l], b[j + l], acc0[l]);            \
    }                                                                                            \
    for (int l = 0; l < HOST_FL; l++) acc0[l] = acc0[l] + acc1[l];                               \
    for (int s = HOST_FL / 2; s >= 1; s >>= 1) {                                                 \
        for (int i = 0; i < s; i++) acc0[i] = acc0[i] + acc0[i + s];                             \
    }                                                                                            \
    float sum = acc0[0];                                                                         \
    for (; j < n; j++) sum += a[j] * b[j];                                                       \
    return sum;                                                                                  \
}

HOST_DOT(host_dot_global, __global)
HOST_DOT(host_dot_local, __local)

// Exp.exp: Cephes expf in plain float operations (its constants and steps, in its order).
inline float host_exp(const float x) {
    if (x > 88.72283f) return INFINITY;
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
    const float half_scale = as_float((as_int(t) - as_int(shifter) + 126) << 23);
    return (y * 2.0f) * half_scale;
}

// Activation rows a matmul work-group multiplies against each weight row it reads: the weight
// row, the big operand, is read once per tile instead of once per activation row.
#define TB 4

// ---- reductions ----

// Sums v over the work-group; every work-item gets the total. scratch holds WG floats.
inline float group_sum(float v, __local float* scratch) {
    const int lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = WG / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);  // scratch may be reused right after
    return total;
}

inline float group_max(float v, __local float* scratch) {
    const int lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = WG / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] = fmax(scratch[lid], scratch[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

inline float sum16(float16 v) {
    float8 a = v.lo + v.hi;
    float4 b = a.lo + a.hi;
    return b.x + b.y + b.z + b.w;
}

// ---- per-format partial dot products ----
// Each work-item accumulates its strided share of one weight row against up to TB activation
// rows (x + t*cols for t < tiles). The caller reduces acc over the work-group.

#define DOT_ARGS __global const float* x, const int cols, const int tiles, float* acc

inline void dot_f32(__global const float* w, DOT_ARGS) {
    const int lid = get_local_id(0);
    const int vec_end = cols & ~3;
    for (int j = lid * 4; j < vec_end; j += WG * 4) {
        float4 wv = vload4(0, w + j);
        for (int t = 0; t < tiles; t++) acc[t] += dot(wv, vload4(0, x + t * cols + j));
    }
    for (int j = vec_end + lid; j < cols; j += WG) {
        float wv = w[j];
        for (int t = 0; t < tiles; t++) acc[t] += wv * x[t * cols + j];
    }
}

inline void dot_f16(__global const half* w, DOT_ARGS) {
    const int lid = get_local_id(0);
    const int vec_end = cols & ~3;
    for (int j = lid * 4; j < vec_end; j += WG * 4) {
        float4 wv = vload_half4(0, w + j);
        for (int t = 0; t < tiles; t++) acc[t] += dot(wv, vload4(0, x + t * cols + j));
    }
    for (int j = vec_end + lid; j < cols; j += WG) {
        float wv = vload_half(j, w);
        for (int t = 0; t < tiles; t++) acc[t] += wv * x[t * cols + j];
    }
}

inline float4 bf16x4(__global const ushort* p) {
    return as_float4(convert_uint4(vload4(0, p)) << 16);
}

inline void dot_bf16(__global const ushort* w, DOT_ARGS) {
    const int lid = get_local_id(0);
    const int vec_end = cols & ~3;
    for (int j = lid * 4; j < vec_end; j += WG * 4) {
        float4 wv = bf16x4(w + j);
        for (int t = 0; t < tiles; t++) acc[t] += dot(wv, vload4(0, x + t * cols + j));
    }
    for (int j = vec_end + lid; j < cols; j += WG) {
        float wv = as_float(((uint) w[j]) << 16);
        for (int t = 0; t < tiles; t++) acc[t] += wv * x[t * cols + j];
    }
}

inline void dot_q8_0(__global const uchar* w, DOT_ARGS) {
    const int blocks = cols / 32;
    for (int b = get_local_id(0); b < blocks; b += WG) {
        __global const uchar* block = w + b * 34;
        const float d = vload_half(0, (__global const half*) block);
        __global const char* q = (__global const char*) (block + 2);
        const float16 lo = convert_float16(vload16(0, q));
        const float16 hi = convert_float16(vload16(1, q));
        for (int t = 0; t < tiles; t++) {
            __global const float* xb = x + t * cols + b * 32;
            acc[t] += d * (sum16(lo * vload16(0, xb)) + sum16(hi * vload16(1, xb)));
        }
    }
}

inline void dot_q4_0(__global const uchar* w, DOT_ARGS) {
    const int blocks = cols / 32;
    for (int b = get_local_id(0); b < blocks; b += WG) {
        __global const uchar* block = w + b * 18;
        const float d = vload_half(0, (__global const half*) block);
        const uchar16 qs = vload16(0, block + 2);
        const float16 lo = convert_float16(qs & (uchar16) 0x0F) - 8.0f;
        const float16 hi = convert_float16(qs >> (uchar16) 4) - 8.0f;
        for (int t = 0; t < tiles; t++) {
            __global const float* xb = x + t * cols + b * 32;
            acc[t] += d * (sum16(lo * vload16(0, xb)) + sum16(hi * vload16(1, xb)));
        }
    }
}

// ---- matmul: out[b, r] = sum_j W[r, j] * x[b, j] ----
// NDRange (rows*WG, ceil(batch/TB)), local (WG, 1): one work-group per (weight row, tile of TB
// activation rows), reading the row with vector loads and reducing in local memory. Batch 1 is
// the decode matvec.

#define MATMUL_KERNEL(NAME, WTYPE, ROW_BYTES_EXPR, DOT)                                      \
__kernel void NAME(__global const uchar* weights, __global const float* x,                \
                   __global float* out, const int rows, const int cols, const int batch) {   \
    __local float scratch[WG];                                                               \
    const int r = get_group_id(0);                                                           \
    const int b0 = get_group_id(1) * TB;                                                     \
    const int tiles = min(TB, batch - b0);                                                   \
    float acc[TB];                                                                           \
    for (int t = 0; t < TB; t++) acc[t] = 0.0f;                                              \
    __global const WTYPE* w = (__global const WTYPE*) (weights + (ulong) r * (ROW_BYTES_EXPR)); \
    __global const float* xb = x + (ulong) b0 * cols;                                        \
    /* Literal tile counts, so the inlined dot loops unroll and acc stays in registers. */    \
    if (tiles == TB) DOT(w, xb, cols, TB, acc);                                              \
    else for (int t = 0; t < tiles; t++) DOT(w, xb + t * cols, cols, 1, acc + t);            \
    for (int t = 0; t < tiles; t++) {                                                        \
        float total = group_sum(acc[t], scratch);                                            \
        if (get_local_id(0) == 0) out[(ulong) (b0 + t) * rows + r] = total;                  \
    }                                                                                        \
}

MATMUL_KERNEL(matmul_f32, float, cols * 4, dot_f32)
MATMUL_KERNEL(matmul_f16, half, cols * 2, dot_f16)
MATMUL_KERNEL(matmul_bf16, ushort, cols * 2, dot_bf16)
MATMUL_KERNEL(matmul_q8_0, uchar, (cols / 32) * 34, dot_q8_0)
MATMUL_KERNEL(matmul_q4_0, uchar, (cols / 32) * 18, dot_q4_0)

// ---- embed: out[b] = table[tokens[b]] dequantized ----
// NDRange (cols, batch): one work-item per output element.

__kernel void embed_f32(__global const float* table, __global const int* tokens,
                        __global float* out, const int cols) {
    const int j = get_global_id(0), b = get_global_id(1);
    out[(ulong) b * cols + j] = table[(ulong) tokens[b] * cols + j];
}

__kernel void embed_f16(__global const half* table, __global const int* tokens,
                        __global float* out, const int cols) {
    const int j = get_global_id(0), b = get_global_id(1);
    out[(ulong) b * cols + j] = vload_half(0, table + (ulong) tokens[b] * cols + j);
}

__kernel void embed_bf16(__global const ushort* table, __global const int* tokens,
                         __global float* out, const int cols) {
    const int j = get_global_id(0), b = get_global_id(1);
    out[(ulong) b * cols + j] = as_float(((uint) table[(ulong) tokens[b] * cols + j]) << 16);
}

__kernel void embed_q8_0(__global const uchar* table, __global const int* tokens,
                         __global float* out, const int cols) {
    const int j = get_global_id(0), b = get_global_id(1);
    __global const uchar* block = table + ((ulong) tokens[b] * (cols / 32) + j / 32) * 34;
    const float d = vload_half(0, (__global const half*) block);
    out[(ulong) b * cols + j] = d * (float) ((__global const char*) (block + 2))[j % 32];
}

__kernel void embed_q4_0(__global const uchar* table, __global const int* tokens,
                         __global float* out, const int cols) {
    const int j = get_global_id(0), b = get_global_id(1);
    __global const uchar* block = table + ((ulong) tokens[b] * (cols / 32) + j / 32) * 18;
    const float d = vload_half(0, (__global const half*) block);
    const int k = j % 32;
    const uchar q = block[2 + (k & 15)];
    const int nibble = k < 16 ? (q & 0x0F) : (q >> 4);
    out[(ulong) b * cols + j] = d * (float) (nibble - 8);
}

// ---- rmsnorm: out[b] = x[b] / sqrt(mean(x[b]^2) + eps) * weight ----
// One work-group per row. out may alias x: each element is read and written by one work-item.
// The host's arithmetic: the sum of squares by host_dot (one work-item; O(n) next to the matmuls),
// 1/sqrt in double, then (x*inv)*w per element.

__kernel void rmsnorm(__global float* out, __global const float* x, __global const float* weight,
                      const int n, const float eps) {
    __local float inv_shared;
    const ulong row = (ulong) get_group_id(0) * n;
    if (get_local_id(0) == 0) {
        const float ss = host_dot_global(x + row, x + row, n);
        inv_shared = (float) ((HOST_DOUBLE) 1.0 / sqrt((HOST_DOUBLE) (div_rn(ss, (float) n) + eps)));
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const float inv = inv_shared;
    for (int j = get_local_id(0); j < n; j += WG) out[row + j] = x[row + j] * inv * weight[j];
}

// ---- rope: rotate adjacent pairs (2i, 2i+1) of every head by (pos0 + b) * invFreq[i] ----
// NDRange (nHeads*headDim/2, batch). The host takes the angle, its cos/sin and the rotation in
// double; devices with cl_khr_fp64 do the same. Without it a float angle is off by about
// pos * 2^-24 radians (2.4e-4 at position 4096), which the tests allow for.


__kernel void rope(__global float* vec, __global const float* inv_freq, const int n_heads,
                   const int head_dim, const int pos0) {
    const int pair = get_global_id(0), b = get_global_id(1);
    const int half_dim = head_dim / 2;
    const int h = pair / half_dim, i = pair % half_dim;
    const angle_t angle = (angle_t) (pos0 + b) * (angle_t) inv_freq[i];
    const angle_t c = cos(angle), s = sin(angle);
    __global float* p = vec + (ulong) b * n_heads * head_dim + h * head_dim + 2 * i;
    const angle_t v0 = p[0], v1 = p[1];
    p[0] = (float) (v0 * c - v1 * s);
    p[1] = (float) (v0 * s + v1 * c);
}

// Ops.attentionWeights of s[0..n) given its maximum, by one work-item: host_exp (Exp.exp) of each
// score minus the maximum, the whole HOST_FL-wide part summed in HOST_FL lanes and Vec.sum's
// butterfly, then the tail added in order; then each weight times 1/sum.
inline void host_attention_weights(__global float* s, const int n, const float max_score) {
    float acc[HOST_FL];
    for (int l = 0; l < HOST_FL; l++) acc[l] = 0.0f;
    const int whole = n - n % HOST_FL;
    for (int t = 0; t < whole; t++) {
        const float e = host_exp(s[t] - max_score);
        s[t] = e;
        acc[t % HOST_FL] = acc[t % HOST_FL] + e;
    }
    for (int st = HOST_FL / 2; st >= 1; st >>= 1) {
        for (int i = 0; i < st; i++) acc[i] = acc[i] + acc[i + st];
    }
    float sum = acc[0];
    for (int t = whole; t < n; t++) {
        const float e = host_exp(s[t] - max_score);
        s[t] = e;
        sum += e;
    }
    const float inv = div_rn(1.0f, sum);
    for (int t = 0; t < n; t++) s[t] = s[t] * inv;
}

// ---- attention: causal GQA over a (maxPositions, nKvHeads*headDim) KV cache ----
// One work-group per (query head, row b). Row b sits at position startPos + b and attends to
// positions [0, startPos + b]. The host's arithmetic (Ops.attendHead): scores by host_dot, its
// attention weights, then per output element an fma chain over the positions in order. Scores live in global scratch (one slice of max_len floats per
// work-group) because the context can exceed local memory.

__kernel void attention(__global float* out, __global const float* q, __global const float* keys,
                        __global const float* values, __global float* scores,
                        const int start_pos, const int n_heads, const int n_kv_heads,
                        const int head_dim, const int max_len) {
    __local float scratch[WG];
    __local float qh[MAX_HEAD_DIM];
    const int h = get_group_id(0), b = get_group_id(1), lid = get_local_id(0);
    const int kvh = h / (n_heads / n_kv_heads);
    const int kv_stride = n_kv_heads * head_dim;
    const int last = start_pos + b;
    const ulong q_off = ((ulong) b * n_heads + h) * head_dim;
    __global float* s = scores + ((ulong) b * n_heads + h) * max_len;
    for (int d = lid; d < head_dim; d += WG) qh[d] = q[q_off + d];
    barrier(CLK_LOCAL_MEM_FENCE);

    const float scale = (float) ((HOST_DOUBLE) 1.0 / sqrt((HOST_DOUBLE) head_dim));
    float local_max = -INFINITY;
    for (int t = lid; t <= last; t += WG) {
        __global const float* k = keys + (ulong) t * kv_stride + kvh * head_dim;
        const float dotv = host_dot_local(qh, k, head_dim) * scale;
        s[t] = dotv;
        local_max = fmax(local_max, dotv);
    }
    const float max_score = group_max(local_max, scratch);
    barrier(CLK_GLOBAL_MEM_FENCE);  // work-item 0 reads every score
    if (lid == 0) host_attention_weights(s, last + 1, max_score);
    barrier(CLK_GLOBAL_MEM_FENCE);  // every work-item reads every score below
    const int vector_part = head_dim - head_dim % HOST_FL;

    for (int d = lid; d < head_dim; d += WG) {
        __global const float* v = values + kvh * head_dim + d;
        float acc = 0.0f;
        if (d < vector_part) for (int t = 0; t <= last; t++) acc = fma(v[(ulong) t * kv_stride], s[t], acc);
        else for (int t = 0; t <= last; t++) acc = acc + s[t] * v[(ulong) t * kv_stride];
        out[q_off + d] = acc;
    }
}

// ---- paged attention: rows of different sequences over a pool of fixed-size KV blocks ----
// One work-group per (query head, row b). Row b attends positions [0, positions[b]] of its own
// sequence, whose position t lies in pool row tables[b * table_stride + t / block_size] * block_size
// + t % block_size. The arithmetic is attention's, term for term, so a row gets the bits the
// contiguous kernel gives it over the same keys and values.

__kernel void attention_paged(__global float* out, __global const float* q, __global const float* keys,
                              __global const float* values, __global float* scores,
                              __global const int* positions, __global const int* tables,
                              const int table_stride, const int block_size, const int n_heads,
                              const int n_kv_heads, const int head_dim, const int max_len) {
    __local float scratch[WG];
    __local float qh[MAX_HEAD_DIM];
    const int h = get_group_id(0), b = get_group_id(1), lid = get_local_id(0);
    const int kvh = h / (n_heads / n_kv_heads);
    const int kv_stride = n_kv_heads * head_dim;
    const int last = positions[b];
    __global const int* table = tables + (ulong) b * table_stride;
    const ulong q_off = ((ulong) b * n_heads + h) * head_dim;
    __global float* s = scores + ((ulong) b * n_heads + h) * max_len;
    for (int d = lid; d < head_dim; d += WG) qh[d] = q[q_off + d];
    barrier(CLK_LOCAL_MEM_FENCE);

    const float scale = (float) ((HOST_DOUBLE) 1.0 / sqrt((HOST_DOUBLE) head_dim));
    float local_max = -INFINITY;
    for (int t = lid; t <= last; t += WG) {
        const ulong row = (ulong) table[t / block_size] * block_size + t % block_size;
        __global const float* k = keys + row * kv_stride + kvh * head_dim;
        const float dotv = host_dot_local(qh, k, head_dim) * scale;
        s[t] = dotv;
        local_max = fmax(local_max, dotv);
    }
    const float max_score = group_max(local_max, scratch);
    barrier(CLK_GLOBAL_MEM_FENCE);  // work-item 0 reads every score
    if (lid == 0) host_attention_weights(s, last + 1, max_score);
    barrier(CLK_GLOBAL_MEM_FENCE);  // every work-item reads every score below
    const int vector_part = head_dim - head_dim % HOST_FL;

    for (int d = lid; d < head_dim; d += WG) {
        __global const float* v = values + kvh * head_dim + d;
        float acc = 0.0f;
        for (int t = 0; t <= last; t++) {
            const ulong row = (ulong) table[t / block_size] * block_size + t % block_size;
            acc = d < vector_part ? fma(v[row * kv_stride], s[t], acc) : acc + s[t] * v[row * kv_stride];
        }
        out[q_off + d] = acc;
    }
}

// ---- elementwise ----

__kernel void silu_mul(__global float* gate, __global const float* up, const ulong n) {
    const ulong i = get_global_id(0);
    if (i < n) {
        const float g = gate[i];
        gate[i] = div_rn(g, 1.0f + host_exp(-g)) * up[i];  // Ops.siluMul's operations
    }
}

__kernel void add(__global float* acc, __global const float* x, const ulong n) {
    const ulong i = get_global_id(0);
    if (i < n) acc[i] += x[i];
}

// ---- integer dot for Q8_0 and Q4_0 (tandem.quantDot=int8, the host's default) ----
// The host's arithmetic (kernels/Q8Activations.java, IntDot.java), operation for operation, so a
// matmul gives the host's bits: quantize_q8 turns each block of 32 activations into 32 integers in
// [-127, 127] and a scale d = max|x| / 127 (both divisions correctly rounded, then
// q = x * (1/d) rounded to nearest even); matmul_*_i8 forms, per weight block, 8 exact integer lanes
// (lane k = the products of elements 2k, 2k+1, 16+2k, 17+2k), fma's each lane, as a float, times
// (d_w * d_a) into lane k of a float8 accumulator, block after block, and sums the 8 lanes in the
// host's butterfly ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)). One work-item per (weight row, tile of TB
// activation rows): the lanes' block-after-block order is what makes the result the host's.

// NDRange (blocks): one work-item per block of 32 activations (all rows back to back).
__kernel void quantize_q8(__global const float* x, __global char* q, __global float* d, const int blocks) {
    const int b = get_global_id(0);
    if (b >= blocks) return;
    __global const float* xb = x + (ulong) b * 32;
    float amax = 0.0f;
    for (int k = 0; k < 32; k++) amax = fmax(amax, fabs(xb[k]));
    const float db = div_rn(amax, 127.0f);
    const float id = db == 0.0f ? 0.0f : div_rn(1.0f, db);
    d[b] = db;
    __global char* qb = q + (ulong) b * 32;
    for (int k = 0; k < 32; k++) qb[k] = (char) convert_int_rte(xb[k] * id);
}

// The block's 8 lanes for weights w (elements 0-15 in lo, 16-31 in hi) and activations q. The
// products pair up below 2^15 (|w| <= 128, |q| <= 127), as the host computes them in shorts.
inline float8 i8_lanes(const short16 lo, const short16 hi, __global const char* q) {
    const short16 p = lo * convert_short16(vload16(0, q)) + hi * convert_short16(vload16(1, q));
    return convert_float8(convert_int8(p.even) + convert_int8(p.odd));
}

inline float i8_finish(const float8 acc) {
    const float4 v = acc.lo + acc.hi;
    return (v.x + v.z) + (v.y + v.w);
}

#define DOT_I8(NAME, BLOCK_BYTES, DECODE)                                                        \
inline void NAME(__global const uchar* w, __global const char* xq, __global const float* xd,    \
                 const int blocks, const int tiles, float8* acc) {                               \
    for (int b = 0; b < blocks; b++) {                                                           \
        __global const uchar* block = w + b * BLOCK_BYTES;                                       \
        const float dw = vload_half(0, (__global const half*) block);                            \
        short16 lo, hi;                                                                          \
        DECODE(block + 2, lo, hi);                                                               \
        for (int t = 0; t < tiles; t++) {                                                        \
            const int a = t * blocks + b;                                                        \
            acc[t] = fma(i8_lanes(lo, hi, xq + (ulong) a * 32), (float8) (dw * xd[a]), acc[t]);  \
        }                                                                                        \
    }                                                                                            \
}

#define DECODE_Q8_0(p, lo, hi)                                               \
    lo = convert_short16(vload16(0, (__global const char*) (p)));            \
    hi = convert_short16(vload16(1, (__global const char*) (p)))

#define DECODE_Q4_0(p, lo, hi)                                               \
    const uchar16 qs = vload16(0, (p));                                      \
    lo = convert_short16(qs & (uchar16) 0x0F) - (short16) 8;                 \
    hi = convert_short16(qs >> (uchar16) 4) - (short16) 8

DOT_I8(dot_i8_q8_0, 34, DECODE_Q8_0)
DOT_I8(dot_i8_q4_0, 18, DECODE_Q4_0)

// NDRange (rows rounded up to WG, ceil(batch/TB)), local (WG, 1); xq/xd from quantize_q8.
#define MATMUL_I8_KERNEL(NAME, BLOCK_BYTES, DOT)                                                 \
__kernel void NAME(__global const uchar* weights, __global const char* xq,                      \
                   __global const float* xd, __global float* out,                                \
                   const int rows, const int cols, const int batch) {                            \
    const int r = get_global_id(0);                                                              \
    if (r >= rows) return;                                                                       \
    const int b0 = get_global_id(1) * TB;                                                        \
    const int tiles = min(TB, batch - b0);                                                       \
    const int blocks = cols / 32;                                                                \
    __global const uchar* w = weights + (ulong) r * blocks * BLOCK_BYTES;                        \
    __global const char* q = xq + (ulong) b0 * cols;                                             \
    __global const float* d = xd + (ulong) b0 * blocks;                                          \
    float8 acc[TB];                                                                              \
    for (int t = 0; t < TB; t++) acc[t] = (float8) 0.0f;                                         \
    if (tiles == TB) DOT(w, q, d, blocks, TB, acc);                                              \
    else for (int t = 0; t < tiles; t++) DOT(w, q + (ulong) t * cols, d + t * blocks, blocks, 1, acc + t); \
    for (int t = 0; t < tiles; t++) out[(ulong) (b0 + t) * rows + r] = i8_finish(acc[t]);       \
}

MATMUL_I8_KERNEL(matmul_q8_0_i8, 34, dot_i8_q8_0)
MATMUL_I8_KERNEL(matmul_q4_0_i8, 18, dot_i8_q4_0)
