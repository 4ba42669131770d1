/* Native test harness of the C core: configs at the edges of their ranges, and
 * action policies from plain random to adversarial, shared by the stress driver
 * (stress.c: AddressSanitizer + UBSan, valgrind) and the libFuzzer target
 * (fuzz_step.c).  Built with -DPROSPECTOR_CHECK_INVARIANTS, so the core checks its
 * own invariants after every reset and step (ext/prospector.h).
 *
 * config_ranges.h is generated from prospector/spec.py by gen_config_ranges.py.
 */
#ifndef PROSPECTOR_HARNESS_H
#define PROSPECTOR_HARNESS_H

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

/* What the harness is doing, printed with an invariant violation. */
static char harness_context[256] = "";
#define PROSPECTOR_INVARIANT_FAILED(env, message) do { \
        fprintf(stderr, "prospector invariant violated: %s (episode seed %llu, step %d; %s)\n", (message), \
                (unsigned long long)(env)->episode_seed, (env)->episode_steps, harness_context); \
        abort(); \
    } while (0)

#include "prospector.h"
#include "config_ranges.h"

_Static_assert(HARNESS_N_CONFIG == N_CONFIG, "config_ranges.h does not match prospector.h");

/* The harness's own random stream, apart from the game's. */
#define HARNESS_SEQ 0x5eed0f1a2b3c4d5eULL

static inline double harness_round(int field, double x) {
    if (FIELD_INT[field]) x = (double)(long long)(x + 0.5);
    if (x < FIELD_LO[field]) x = FIELD_LO[field];
    if (x > FIELD_HI[field]) x = FIELD_HI[field];
    return x;
}

/* make_config's pair rule: a min field never exceeds its max field. */
static inline void harness_order_pairs(double* v) {
    for (int p = 0; p < HARNESS_N_PAIRS; p++) {
        int lo = FIELD_PAIRS[p][0], hi = FIELD_PAIRS[p][1];
        if (v[lo] > v[hi]) { double t = v[lo]; v[lo] = v[hi]; v[hi] = t; }
    }
}

/* A value of field f from one byte: default, lowest, highest, or one of 61 points
 * between (log-spaced for wide positive ranges such as time_max). */
static inline double harness_field_from_byte(int f, uint8_t b) {
    double lo = FIELD_LO[f], hi = FIELD_HI[f];
    int mode = b & 3, step = b >> 2; /* step 0..63 */
    if (mode == 0) return CONFIG_DEFAULTS[f];
    if (mode == 1) return lo;
    if (mode == 2) return hi;
    double t = (double)step / 63.0;
    if (lo > 0.0 && hi / lo > 100.0) return harness_round(f, exp(log(lo) + t * (log(hi) - log(lo))));
    return harness_round(f, lo + t * (hi - lo));
}

enum {
    CFG_DEFAULT, CFG_TIME_MIN, CFG_TIME_MAX, CFG_NODES_MIN, CFG_NODES_MAX, CFG_ALL_LO, CFG_ALL_HI,
    CFG_ROCKS_MAX, CFG_ROCKS_MIN, CFG_HARSH, CFG_CORNERS, CFG_UNIFORM, N_NAMED_CONFIGS
};
static const char* const NAMED_CONFIGS[N_NAMED_CONFIGS] = {
    "default", "time_max=1", "time_max=1e6", "nodes=2", "nodes=32+max_edges+max_hazards", "all_lowest",
    "all_highest", "rocks=16,edges=8", "rocks=1,edges=1,fuel=0", "harsh", "random_corners", "random_uniform",
};

static void harness_set(double* v, const char* name, double value) {
    for (int i = 0; i < N_CONFIG; i++)
        if (strcmp(CONFIG_NAMES[i], name) == 0) { v[i] = value; return; }
    abort(); /* a typo in the harness */
}

/* Config `kind` (NAMED_CONFIGS); the random kinds draw from rng. Always within
 * make_config's ranges, so every config here is one a user could ask for. */
static void harness_config(int kind, Pcg32* rng, double* v) {
    memcpy(v, CONFIG_DEFAULTS, sizeof(double) * N_CONFIG);
    switch (kind) {
    case CFG_TIME_MIN: harness_set(v, "time_max", 1); break;
    case CFG_TIME_MAX: harness_set(v, "time_max", 1e6); break;
    case CFG_NODES_MIN: harness_set(v, "node_count_min", 2); harness_set(v, "node_count_max", 2); break;
    case CFG_NODES_MAX:
        harness_set(v, "node_count_min", MAX_NODES); harness_set(v, "node_count_max", MAX_NODES);
        harness_set(v, "extra_edge_divisor", 1); harness_set(v, "hazard_divisor", 1);
        break;
    case CFG_ALL_LO: for (int i = 0; i < N_CONFIG; i++) v[i] = FIELD_LO[i]; break;
    case CFG_ALL_HI: for (int i = 0; i < N_CONFIG; i++) v[i] = FIELD_HI[i]; break;
    case CFG_ROCKS_MAX:
        harness_set(v, "cluster_asteroids_min", MAX_ASTEROIDS); harness_set(v, "hazard_asteroids_min", MAX_ASTEROIDS);
        harness_set(v, "hazard_asteroids_max", MAX_ASTEROIDS);
        harness_set(v, "edge_time_min", 8); harness_set(v, "capacity_base", 1); harness_set(v, "capacity_per_richness", 0);
        break;
    case CFG_ROCKS_MIN:
        harness_set(v, "cluster_asteroids_max", 1); harness_set(v, "cluster_asteroids_min", 1);
        harness_set(v, "hazard_asteroids_min", 1); harness_set(v, "hazard_asteroids_max", 1);
        harness_set(v, "edge_time_max", 1); harness_set(v, "edge_fuel_min", 0); harness_set(v, "edge_fuel_max", 0);
        break;
    case CFG_HARSH: /* every risk at its top: pirates, hazards, fractures, heat, slippage */
        harness_set(v, "pirate_base", 50); harness_set(v, "pirate_loss", 1); harness_set(v, "pirate_loss_jitter", 1);
        harness_set(v, "hazard_node_hazard_base", 1); harness_set(v, "hazard_node_hazard_span", 1);
        harness_set(v, "hazard_node_pirate_base", 1); harness_set(v, "hazard_node_pirate_span", 1);
        harness_set(v, "fracture_base", 50); harness_set(v, "mine_heat_2", 100); harness_set(v, "slippage_cap", 1);
        harness_set(v, "slippage_coef", 10); harness_set(v, "shock_rate", 1); harness_set(v, "shock_base", 10);
        harness_set(v, "price_min_frac", 0); harness_set(v, "mine_yield_2", 100); harness_set(v, "richness_factor_cap", 100);
        harness_set(v, "mine_sigma_2", 5); harness_set(v, "comp_sigma", 3); harness_set(v, "richness_sigma", 3);
        harness_set(v, "dominant_weight", 20); harness_set(v, "start_fuel", FUEL_MAX); harness_set(v, "start_fuel_jitter", FUEL_MAX);
        harness_set(v, "start_tool", TOOL_MAX); harness_set(v, "start_tool_jitter", TOOL_MAX);
        harness_set(v, "depth_base", 1e-3); harness_set(v, "depth_per_inventory", 0); harness_set(v, "slippage_exp", 10);
        break;
    case CFG_CORNERS: /* each field at its default, lowest or highest value */
        for (int i = 0; i < N_CONFIG; i++) {
            uint32_t r = pcg32_next(rng) % 3;
            v[i] = r == 0 ? CONFIG_DEFAULTS[i] : (r == 1 ? FIELD_LO[i] : FIELD_HI[i]);
        }
        break;
    case CFG_UNIFORM: /* each field anywhere in its range */
        for (int i = 0; i < N_CONFIG; i++) v[i] = harness_field_from_byte(i, (uint8_t)pcg32_next(rng));
        break;
    default: break;
    }
    harness_order_pairs(v);
}

/* ------------------------------------------------------------ policies */
enum { POL_RANDOM, POL_ADVERSARIAL, POL_INVALID_HEAVY, POL_FAMILY_SPAM, POL_VALID, POL_BOT, N_POLICIES };
static const char* const POLICY_NAMES[N_POLICIES] = {
    "random", "adversarial", "invalid_heavy", "family_spam", "valid", "bot",
};

/* Raw action ints no policy should ever send, and the binding passes on as they are. */
static const int EXTREME_ACTIONS[] = {
    INT_MIN, INT_MIN + 1, -65536, -1000, -70, -69, -2, -1, N_ACTIONS, N_ACTIONS + 1, 100, 127, 128,
    255, 256, 65535, 1 << 30, INT_MAX - 1, INT_MAX,
};
#define N_EXTREME_ACTIONS ((int)(sizeof(EXTREME_ACTIONS) / sizeof(EXTREME_ACTIONS[0])))

/* Action families as spec.ACTION_GROUPS has them, plus scans and repairs on their own. */
static const int FAMILIES[][20] = {
    {0, 1, 2, 3, 4, 5, -1},
    {ACT_WIDE_SCAN, ACT_FOCUSED_SCAN, ACT_DEEP_SCAN, ACT_LISTEN, -1},
    {12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, -1},
    {28, 29, 30, ACT_STABILIZE, -1},
    {36, 37, 38, 39, 40, 41, -1},
    {43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, -1},
    {ACT_DOCK, 61, 62, 63, ACT_BUY_KIT, ACT_BUY_STABILIZER, ACT_BUY_DECOY, ACT_OVERHAUL, -1},
    {ACT_HOLD, ACT_BURN, ACT_COOLDOWN, ACT_TOOL_MAINT, ACT_HULL_PATCH, ACT_REFINE, -1},
    {ACT_CASH_OUT, -1},
};
#define N_FAMILIES ((int)(sizeof(FAMILIES) / sizeof(FAMILIES[0])))

typedef struct {
    int policy, family;
    Pcg32 rng;
} Policy;

static inline int uniform_below(Pcg32* rng, int n) { return (int)(pcg32_next(rng) % (uint32_t)n); }
static inline int chance(Pcg32* rng, double p) { return rng_u(rng) < p; }

static int pick_family(Pcg32* rng, int family) {
    int n = 0;
    while (FAMILIES[family][n] >= 0) n++;
    return FAMILIES[family][uniform_below(rng, n)];
}

/* A uniformly drawn action that is valid now (want = 1) or invalid (want = 0);
 * -1 when there is none. */
static int pick_masked(Prospector* env, Pcg32* rng, int want, int allow_cash_out) {
    int options[N_ACTIONS], n = 0;
    for (int a = 0; a < N_ACTIONS; a++)
        if (is_valid(env, a) == want && (allow_cash_out || a != ACT_CASH_OUT)) options[n++] = a;
    return n ? options[uniform_below(rng, n)] : -1;
}

/* The greedy miner, written again in C (prospector/bots.py has the real ones):
 * scan, mine the best-looking rock, go home when full, hot or hurt, sell, refuel. */
static int bot_action(Prospector* env, Pcg32* rng) {
    const Node* here = &env->nodes[env->node];
    double volume = cargo_volume(env);
    if (env->node == 0) {
        if (!env->docked) return ACT_DOCK;
        for (int k = 0; k < N_COMMODITIES; k++)
            if (env->raw[k] > 0.0 || env->refined[k] > 0.0) return ACT_SELL + 3 * k + 2;
        if (env->fuel < 600.0 && is_valid(env, ACT_BUY_FUEL + 2)) return ACT_BUY_FUEL + 2;
        if (env->fuel < 900.0 && is_valid(env, ACT_BUY_FUEL)) return ACT_BUY_FUEL;
        if ((env->hull < 70.0 || env->tool < 50.0) && is_valid(env, ACT_OVERHAUL)) return ACT_OVERHAUL;
        if (env->kits < 2 && is_valid(env, ACT_BUY_KIT)) return ACT_BUY_KIT;
        if (env->decoys < 1 && is_valid(env, ACT_BUY_DECOY)) return ACT_BUY_DECOY;
        return ACT_TRAVEL + uniform_below(rng, here->degree);
    }
    if (volume > 0.85 * CARGO_MAX || env->hull < 40.0 || env->fuel < 250.0) {
        for (int k = 0; k < here->degree; k++)
            if (env->nodes[here->neighbors[k]].dist < here->dist) return ACT_TRAVEL + k;
    }
    if (env->heat > 80.0) return ACT_COOLDOWN;
    if (env->hull < 60.0 && env->kits > 0) return ACT_HULL_PATCH;
    if (env->tool < 40.0 && env->kits > 0) return ACT_TOOL_MAINT;
    if (env->raw[0] + env->raw[1] + env->raw[2] + env->raw[3] + env->raw[4] + env->raw[5] > 40.0 && chance(rng, 0.1))
        return ACT_REFINE;
    if (here->n_asteroids > 0) {
        const Asteroid* rocks = env->rocks[env->node];
        if (rocks[0].scan_conf < 0.2) return ACT_WIDE_SCAN;
        const Asteroid* sel = selected_asteroid(env);
        if (sel == NULL || sel->depletion >= 1.0) {
            int best = -1;
            double best_value = 0.0;
            for (int a = 0; a < here->n_asteroids; a++) {
                double value = 0.0;
                for (int k = 0; k < N_COMMODITIES; k++) value += rocks[a].comp_est[k] * env->price[k];
                value *= 1.0 - rocks[a].depletion;
                if (value > best_value) { best = a; best_value = value; }
            }
            if (best >= 0) return ACT_SELECT + best;
        } else {
            if (sel->scan_conf < 0.6) return ACT_DEEP_SCAN;
            if (sel->stability_est < 0.4 && env->stabilizers > 0 && env->stab_ticks == 0) return ACT_STABILIZE;
            return ACT_MINE + (env->heat < 50.0 ? 2 : (env->heat < 70.0 ? 1 : 0));
        }
    }
    return ACT_TRAVEL + uniform_below(rng, here->degree);
}

static void policy_start_episode(Policy* p) { p->family = uniform_below(&p->rng, N_FAMILIES); }

static void policy_init(Policy* p, int policy, uint64_t seed) {
    p->policy = policy;
    pcg32_seed(&p->rng, seed, HARNESS_SEQ + (uint64_t)policy);
    policy_start_episode(p);
}

/* The next raw action int; may be anything a C caller could pass to c_step. */
static int policy_action(Policy* p, Prospector* env) {
    Pcg32* rng = &p->rng;
    switch (p->policy) {
    case POL_RANDOM:
        return uniform_below(rng, N_ACTIONS);
    case POL_ADVERSARIAL:
        if (chance(rng, 0.4)) return EXTREME_ACTIONS[uniform_below(rng, N_EXTREME_ACTIONS)];
        if (chance(rng, 0.2)) return (int)pcg32_next(rng); /* any 32-bit int */
        return uniform_below(rng, N_ACTIONS);
    case POL_INVALID_HEAVY: {
        int a = pick_masked(env, rng, chance(rng, 0.8) ? 0 : 1, 0);
        return a >= 0 ? a : ACT_HOLD;
    }
    case POL_FAMILY_SPAM:
        if (chance(rng, 0.02)) p->family = uniform_below(rng, N_FAMILIES - 1); /* switch, but not to CASH_OUT */
        return chance(rng, 0.85) ? pick_family(rng, p->family) : uniform_below(rng, N_ACTIONS);
    case POL_VALID: {
        if (chance(rng, 0.05)) return uniform_below(rng, N_ACTIONS + 6) - 3;
        int a = pick_masked(env, rng, 1, 0);
        return a >= 0 ? a : ACT_HOLD;
    }
    default:
        return chance(rng, 0.03) ? uniform_below(rng, N_ACTIONS) : bot_action(env, rng);
    }
}

#endif /* PROSPECTOR_HARNESS_H */
