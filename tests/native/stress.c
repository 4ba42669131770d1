/* Stress driver of the C core for the sanitizer and valgrind runs.
 *
 *   stress [--seeds N] [--first-seed S] [--steps-per-run K] [--quiet]
 *          [--canary asan|ubsan|invariant|leak]
 *
 * For every seed: one config (the seed picks one of NAMED_CONFIGS in turn; the
 * random kinds draw from the seed), and every policy of harness.h for K steps,
 * episodes chaining as in the vector env (the next seed drawn from the finished
 * game's stream).  Each game lives in its own heap block and writes into an
 * exactly-sized heap observation buffer, so AddressSanitizer and valgrind see any
 * stray access.  The core checks its invariants after every reset and step
 * (-DPROSPECTOR_CHECK_INVARIANTS) and aborts on the first violation; a sanitizer
 * finding aborts too (-fno-sanitize-recover=all).  On success it prints counts and
 * exits 0.
 *
 * --canary makes one deliberate mistake after the first step (a heap read past the
 * observation, an array index past MAX_ASTEROIDS, an item count above its cap, a
 * block never freed) so the tests can prove that each checker really fails the run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* spec.EVENT_TYPES, in the core's EV_ order */
static const char* const EVENT_NAMES[N_EVENT_TYPES] = {
    "travel", "dock", "undock", "scan", "select", "mine", "fracture", "stabilize", "refine", "cooldown", "repair",
    "jettison", "sell", "buy", "hazard_damage", "pirate", "overheat", "invalid", "end", "hold", "burn", "listen",
};

enum { CANARY_NONE, CANARY_ASAN, CANARY_UBSAN, CANARY_INVARIANT, CANARY_LEAK };
static volatile int canary_index = MAX_ASTEROIDS; /* volatile: the compiler cannot see the bad index */

static void canary(int which, Prospector* env) {
    if (which == CANARY_ASAN) {
        volatile float past_the_end = env->obs[OBS_DIM + canary_index - MAX_ASTEROIDS];
        (void)past_the_end;
    } else if (which == CANARY_UBSAN) {
        volatile double depletion = env->rocks[0][canary_index].depletion;
        (void)depletion;
    } else if (which == CANARY_INVARIANT) {
        env->kits = ITEM_CAP + 5; /* the next step's check must see it */
    } else if (which == CANARY_LEAK) {
        static void* volatile leaked;
        leaked = malloc(4096);
        memset(leaked, 1, 4096);
        leaked = NULL;
    }
}

static long parse(const char* s) {
    char* end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0) { fprintf(stderr, "stress: bad number '%s'\n", s); exit(2); }
    return v;
}

int main(int argc, char** argv) {
    long seeds = 100, first_seed = 0, steps_per_run = 1000;
    int quiet = 0, canary_kind = CANARY_NONE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) seeds = parse(argv[++i]);
        else if (strcmp(argv[i], "--first-seed") == 0 && i + 1 < argc) first_seed = parse(argv[++i]);
        else if (strcmp(argv[i], "--steps-per-run") == 0 && i + 1 < argc) steps_per_run = parse(argv[++i]);
        else if (strcmp(argv[i], "--quiet") == 0) quiet = 1;
        else if (strcmp(argv[i], "--canary") == 0 && i + 1 < argc) {
            const char* name = argv[++i];
            canary_kind = strcmp(name, "asan") == 0 ? CANARY_ASAN : strcmp(name, "ubsan") == 0 ? CANARY_UBSAN
                : strcmp(name, "invariant") == 0 ? CANARY_INVARIANT : strcmp(name, "leak") == 0 ? CANARY_LEAK : -1;
            if (canary_kind < 0) { fprintf(stderr, "stress: unknown canary '%s'\n", name); return 2; }
        }
        else {
            fprintf(stderr, "usage: stress [--seeds N] [--first-seed S] [--steps-per-run K] [--quiet] [--canary KIND]\n");
            return 2;
        }
    }

    long long steps = 0, episodes = 0, invalid = 0, events = 0;
    long long ends[4] = {0, 0, 0, 0}, per_config[N_NAMED_CONFIGS] = {0}, per_policy[N_POLICIES] = {0};
    long long event_types[N_EVENT_TYPES] = {0};
    int max_events = 0;
    for (long s = first_seed; s < first_seed + seeds; s++) {
        int kind = (int)(s % N_NAMED_CONFIGS);
        Pcg32 config_rng;
        pcg32_seed(&config_rng, (uint64_t)s, HARNESS_SEQ - 1);
        Config* cfg = malloc(sizeof(Config));
        double* values = malloc(sizeof(double) * N_CONFIG);
        if (cfg == NULL || values == NULL) return 3;
        harness_config(kind, &config_rng, values);
        config_init(cfg, values);
        free(values);
        for (int pol = 0; pol < N_POLICIES; pol++) {
            Prospector* env = malloc(sizeof(Prospector));
            float* obs = malloc(sizeof(float) * OBS_DIM);
            if (env == NULL || obs == NULL) return 3;
            memset(env, 0, sizeof(Prospector));
            env->cfg = cfg;
            env->obs = obs;
            Policy policy;
            policy_init(&policy, pol, (uint64_t)s);
            snprintf(harness_context, sizeof(harness_context), "harness seed %ld, config %s, policy %s",
                     s, NAMED_CONFIGS[kind], POLICY_NAMES[pol]);
            c_reset(env, (uint64_t)s * 0x9E3779B97F4A7C15ULL + (uint64_t)pol);
            for (long t = 0; t < steps_per_run; t++) {
                c_step(env, policy_action(&policy, env));
                steps++;
                if (canary_kind != CANARY_NONE && steps == 1) canary(canary_kind, env);
                invalid += env->invalid;
                events += env->n_events;
                if (env->n_events > max_events) max_events = env->n_events;
                for (int e = 0; e < env->n_events; e++) event_types[env->events[e].type]++;
                if (env->done) {
                    compute_info(env);
                    ends[env->end_reason]++;
                    episodes++;
                    c_reset(env, rng_u64(&env->rng));
                    policy_start_episode(&policy);
                }
            }
            per_config[kind] += steps_per_run;
            per_policy[pol] += steps_per_run;
            free(obs);
            free(env);
        }
        free(cfg);
    }
    if (!quiet) {
        printf("stress: %lld steps, %ld seeds (%ld..%ld), %lld finished episodes, %lld invalid actions, %lld events "
               "(at most %d in one step), 0 findings\n",
               steps, seeds, first_seed, first_seed + seeds - 1, episodes, invalid, events, max_events);
        printf("end reasons: destroyed %lld, stranded %lld, cash_out %lld, timeout %lld\n", ends[0], ends[1], ends[2], ends[3]);
        printf("steps per config:");
        for (int k = 0; k < N_NAMED_CONFIGS; k++) printf(" %s=%lld", NAMED_CONFIGS[k], per_config[k]);
        printf("\nsteps per policy:");
        for (int p = 0; p < N_POLICIES; p++) printf(" %s=%lld", POLICY_NAMES[p], per_policy[p]);
        printf("\nevents by type:");
        for (int e = 0; e < N_EVENT_TYPES; e++) printf(" %s=%lld", EVENT_NAMES[e], event_types[e]);
        printf("\n");
    }
    return 0;
}
