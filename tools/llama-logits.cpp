// Greedy decoding with llama.cpp through its public C API (llama.h), printing the ids and the full
// logits of every step as JSON. Tandem's own program, built by tools/llama-cpp against the cached
// llama.cpp build; it is the oracle for the K-quant tests (tools/kquant-testdata).
//
//   tandem-llama-logits MODEL N_GEN ID,ID,... [f32-kv]   (prompt ids; greedy; CPU, one thread)
//
// f32-kv keeps the KV cache in F32 instead of llama.cpp's default F16 and turns flash attention off
// (its CPU kernel accumulates in F16), so that what remains of the
// difference from Tandem (whose cache is F32) is the arithmetic of the weights' formats.
#include "llama.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

static void print_logits(const float * logits, int n_vocab) {
    std::printf("[");
    for (int i = 0; i < n_vocab; i++) {
        std::printf(i ? ",%.9g" : "%.9g", logits[i]);
    }
    std::printf("]");
}

int main(int argc, char ** argv) {
    if (argc != 4 && !(argc == 5 && std::string(argv[4]) == "f32-kv")) {
        std::fprintf(stderr, "usage: %s MODEL N_GEN ID,ID,... [f32-kv]\n", argv[0]);
        return 2;
    }
    const int n_gen = std::atoi(argv[2]);
    std::vector<llama_token> prompt;
    std::stringstream ids(argv[3]);
    for (std::string id; std::getline(ids, id, ',');) {
        prompt.push_back(std::atoi(id.c_str()));
    }
    llama_log_set([](ggml_log_level, const char *, void *) {}, nullptr);
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) {
        std::fprintf(stderr, "cannot load %s\n", argv[1]);
        return 3;
    }
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 256;
    cp.n_batch = 256;
    cp.n_threads = 1;
    cp.n_threads_batch = 1;
    if (argc == 5) {
        cp.type_k = GGML_TYPE_F32;
        cp.type_v = GGML_TYPE_F32;
        cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    }
    llama_context * ctx = llama_init_from_model(model, cp);
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));

    std::printf("{\"prompt\":[");
    for (size_t i = 0; i < prompt.size(); i++) std::printf(i ? ",%d" : "%d", prompt[i]);
    std::printf("],\"steps\":[");
    std::vector<llama_token> next = prompt;
    for (int step = 0; step < n_gen; step++) {
        if (llama_decode(ctx, llama_batch_get_one(next.data(), (int32_t) next.size())) != 0) {
            std::fprintf(stderr, "llama_decode failed at step %d\n", step);
            return 1;
        }
        const float * logits = llama_get_logits_ith(ctx, -1);
        int best = 0;
        for (int i = 1; i < n_vocab; i++) if (logits[i] > logits[best]) best = i;
        std::printf(step ? ",{\"id\":%d,\"logits\":" : "{\"id\":%d,\"logits\":", best);
        print_logits(logits, n_vocab);
        std::printf("}");
        next.assign(1, best);
    }
    std::printf("]}\n");
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
