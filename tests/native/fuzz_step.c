/* libFuzzer target of the C core: bytes -> (seed, config, action sequence).
 *
 * Layout of an input (every byte is optional; missing ones read as 0):
 *   8 bytes   episode seed (little endian)
 *   1 byte    config: bit 0 clear -> NAMED_CONFIGS[(b >> 1) % count] (random kinds
 *             draw from the seed); bit 0 set -> the next N_CONFIG bytes pick each
 *             field (default / lowest / highest / a point between, harness.h)
 *   rest      one byte per step: 0..0xEF -> action b % 69; 0xF0..0xFD -> an
 *             out-of-range int (EXTREME_ACTIONS); 0xFE -> the next 4 bytes as a
 *             raw int32 action; 0xFF -> reset now with the chained seed
 *
 * Two games play the same input side by side, and every step must give them the
 * same observation bytes, reward bits and events (determinism, and no read of
 * uninitialised state that could tell them apart).  Finished games reset at once
 * with the next seed of their own stream, as in the vector env.  Invariants are
 * checked by the core after every reset and step; sanitizers abort on findings.
 *
 * With PROSPECTOR_FUZZ_CANARY=1 in the environment, any input of 16 bytes or more
 * breaks an invariant on purpose (the tests prove that the fuzzer then fails).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MAX_FUZZ_STEPS 4096

typedef struct { const uint8_t* data; size_t size, pos; } Bytes;

static uint8_t next_byte(Bytes* in) { return in->pos < in->size ? in->data[in->pos++] : 0; }

static void same_or_die(const Prospector* a, const Prospector* b, const char* what) {
    if (memcmp(a->obs, b->obs, OBS_DIM * sizeof(float)) != 0 || memcmp(&a->reward, &b->reward, sizeof(double)) != 0
        || a->n_events != b->n_events || a->done != b->done
        || memcmp(a->events, b->events, sizeof(Event) * (size_t)a->n_events) != 0) {
        fprintf(stderr, "fuzz_step: two games on the same input differ after %s (step %d)\n", what, a->episode_steps);
        abort();
    }
}

static int canary = 0;

int LLVMFuzzerInitialize(int* argc, char*** argv) {
    (void)argc;
    (void)argv;
    const char* flag = getenv("PROSPECTOR_FUZZ_CANARY");
    canary = flag != NULL && strcmp(flag, "1") == 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Bytes in = {data, size, 0};
    uint64_t seed = 0;
    for (int i = 0; i < 8; i++) seed |= (uint64_t)next_byte(&in) << (8 * i);
    double values[N_CONFIG];
    uint8_t mode = next_byte(&in);
    if (mode & 1) {
        memcpy(values, CONFIG_DEFAULTS, sizeof(values));
        for (int f = 0; f < N_CONFIG; f++) values[f] = harness_field_from_byte(f, next_byte(&in));
        harness_order_pairs(values);
    } else {
        Pcg32 rng;
        pcg32_seed(&rng, seed, HARNESS_SEQ - 1);
        harness_config((mode >> 1) % N_NAMED_CONFIGS, &rng, values);
    }
    snprintf(harness_context, sizeof(harness_context), "fuzz input of %zu bytes, config byte %u", size, mode);
    Config* cfg = malloc(sizeof(Config));
    Prospector* games[2];
    for (int g = 0; g < 2; g++) {
        games[g] = calloc(1, sizeof(Prospector));
        games[g]->obs = malloc(OBS_DIM * sizeof(float));
        games[g]->cfg = cfg;
    }
    config_init(cfg, values);
    for (int g = 0; g < 2; g++) c_reset(games[g], seed);
    same_or_die(games[0], games[1], "reset");
    for (int t = 0; t < MAX_FUZZ_STEPS && in.pos < in.size; t++) {
        uint8_t b = next_byte(&in);
        int action;
        if (b < 0xF0) action = b % N_ACTIONS;
        else if (b < 0xFE) action = EXTREME_ACTIONS[(b - 0xF0) % N_EXTREME_ACTIONS];
        else if (b == 0xFE) {
            uint32_t raw = 0;
            for (int i = 0; i < 4; i++) raw |= (uint32_t)next_byte(&in) << (8 * i);
            memcpy(&action, &raw, sizeof(action));
        } else {
            for (int g = 0; g < 2; g++) c_reset(games[g], rng_u64(&games[g]->rng));
            same_or_die(games[0], games[1], "reset");
            continue;
        }
        if (canary && t == 4) games[0]->kits = games[1]->kits = ITEM_CAP + 5;
        for (int g = 0; g < 2; g++) c_step(games[g], action);
        same_or_die(games[0], games[1], "step");
        if (games[0]->done) {
            for (int g = 0; g < 2; g++) {
                compute_info(games[g]);
                c_reset(games[g], rng_u64(&games[g]->rng));
            }
            same_or_die(games[0], games[1], "chained reset");
        }
    }
    for (int g = 0; g < 2; g++) {
        free(games[g]->obs);
        free(games[g]);
    }
    free(cfg);
    return 0;
}
