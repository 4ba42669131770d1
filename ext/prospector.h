/* Asteroid Belt Prospector: the simulation core.
 *
 * One header, PufferLib-Ocean style: the state structs, c_reset, c_step and the
 * observation writer.  It follows prospector/reference.py line by line and must
 * match it bit for bit: same draws in the same order, same operation order in every
 * float expression, no fast-math, no FP contraction (see setup.py).
 *
 * The frozen interface (sizes, layout, reward) and the default mechanics config
 * mirror prospector/spec.py; tests/test_spec_binding.py checks every number.
 * No heap allocation happens after the caller hands us the Prospector structs.
 */
#ifndef PROSPECTOR_H
#define PROSPECTOR_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------ 1. constants */
#define N_COMMODITIES 6
#define MAX_NODES 32
#define MAX_NEIGHBORS 6
#define MAX_ASTEROIDS 16
#define OBS_DIM 260
#define N_ACTIONS 69
#define FUEL_MAX 1000.0
#define HULL_MAX 100.0
#define HEAT_MAX 100.0
#define TOOL_MAX 100.0
#define CARGO_MAX 200.0
#define ALERT_MAX 100.0
#define CREDIT_SCALE 1000.0
#define CREDITS_CAP 1e7
#define ITEM_CAP 12
#define TRAVEL_TIME_NORM 8.0
#define FUEL_COST_NORM 400.0
#define INVENTORY_NORM 500.0
#define PRICE_DELTA_NORM 0.1
#define UNKNOWN_THREAT 0.5
#define RNG_SEQ 0xda3e39cb94b95bdbULL
#define MAX_EVENTS 16
#define MAX_DT 8 /* longest action: an 8-tick edge */

enum { STATION = 0, CLUSTER = 1, HAZARD = 2 };

/* observation layout (docs/game.md#2-observation) */
enum {
    O_FUEL, O_HULL, O_HEAT, O_TOOL, O_CARGO, O_ALERT, O_TIME, O_CREDITS,
    O_CARGO_C = 8, O_KITS = 14, O_STABILIZERS, O_DECOYS, O_DOCKED, O_MINING,
    O_NODE_TYPE = 19, O_NODE_INDEX = 22, O_STEPS_TO_STATION = 23,
    NEIGHBOR_BASE = 24, NEIGHBOR_STRIDE = 7,
    N_VALID = 0, N_TYPE = 1, N_TRAVEL = 4, N_FUEL = 5, N_THREAT = 6,
    ASTEROID_BASE = 68, ASTEROID_STRIDE = 11,
    A_VALID = 0, A_COMP = 1, A_STABILITY = 7, A_DEPLETION = 8, A_CONF = 9, A_SELECTED = 10,
    O_PRICE = 244, O_PRICE_DELTA = 250, O_INVENTORY = 256,
};
static const int INVENTORY_COMMODITIES[4] = {0, 2, 3, 4};

/* actions (docs/game.md#3-actions) */
enum {
    ACT_TRAVEL = 0, ACT_HOLD = 6, ACT_BURN, ACT_WIDE_SCAN, ACT_FOCUSED_SCAN, ACT_DEEP_SCAN,
    ACT_LISTEN, ACT_SELECT = 12, ACT_MINE = 28, ACT_STABILIZE = 31, ACT_REFINE, ACT_COOLDOWN,
    ACT_TOOL_MAINT, ACT_HULL_PATCH, ACT_JETTISON = 36, ACT_DOCK = 42, ACT_SELL = 43,
    ACT_BUY_FUEL = 61, ACT_BUY_KIT = 64, ACT_BUY_STABILIZER, ACT_BUY_DECOY, ACT_OVERHAUL,
    ACT_CASH_OUT,
};
static const double SELL_FRACTIONS[3] = {0.25, 0.5, 1.0};

/* reward (docs/game.md#4-reward-termination-info-events, frozen) */
#define R_EXTRACT 0.02
#define R_FUEL (-0.10)
#define R_TIME (-0.001)
#define R_WEAR (-0.05)
#define R_DAMAGE (-1.00)
#define R_HEAT (-0.20)
#define R_HEAT_THRESHOLD 70.0
#define R_SCAN (-0.005)
#define R_INVALID (-0.01)
#define R_PIRATE (-1.00)
#define R_STRANDED (-50.0)
#define R_DESTROYED (-100.0)
#define R_FINAL_CREDITS 0.002

enum { OBS_ROCKS = 1, OBS_NEIGHBORS = 2 };
enum { END_NONE = -1, END_DESTROYED = 0, END_STRANDED, END_CASH_OUT, END_TIMEOUT };

/* events (docs/game.md#69-events); names and field meanings in spec.EVENT_FIELDS */
enum {
    EV_TRAVEL, EV_DOCK, EV_UNDOCK, EV_SCAN, EV_SELECT, EV_MINE, EV_FRACTURE, EV_STABILIZE,
    EV_REFINE, EV_COOLDOWN, EV_REPAIR, EV_JETTISON, EV_SELL, EV_BUY, EV_HAZARD_DAMAGE,
    EV_PIRATE, EV_OVERHEAT, EV_INVALID, EV_END, EV_HOLD, EV_BURN, EV_LISTEN, N_EVENT_TYPES
};
enum { PIRATE_EVADED, PIRATE_PARTIAL, PIRATE_HIT };
enum { REPAIR_TOOL, REPAIR_HULL, REPAIR_OVERHAUL };
enum { ITEM_FUEL, ITEM_KIT, ITEM_STABILIZER, ITEM_DECOY };

/* info after every step, in spec.INFO_KEYS order */
enum {
    I_CREDITS, I_NET_PROFIT, I_PROFIT_PER_TICK, I_SURVIVAL, I_OVERHEAT_TICKS,
    I_PIRATE_ENCOUNTERS, I_VALUE_LOST, I_FUEL_USED, I_HULL_DAMAGE, I_TOOL_WEAR,
    I_SCAN_COUNT, I_MINING_TICKS, I_CARGO_UTIL, I_DT, I_INVALID, I_TIME_REMAINING, N_INFO
};

/* ---------------------------------------------------- 6. mechanics config
 * The ONE config: name and default of every mechanics number, in
 * spec.CONFIG_FIELDS order.  A Config is a plain double array indexed by CFG_<name>,
 * so mode-indexed fields (mine_yield_0 + mode) are well-defined C.
 */
#define PROSPECTOR_CONFIG(X) \
    X(time_max, 20000.0) \
    X(node_count_min, 10.0) \
    X(node_count_max, 32.0) \
    X(hazard_divisor, 5.0) \
    X(extra_edge_divisor, 3.0) \
    X(edge_time_min, 1.0) \
    X(edge_time_max, 8.0) \
    X(edge_fuel_min, 8.0) \
    X(edge_fuel_max, 20.0) \
    X(cluster_pirate_scale, 0.6) \
    X(cluster_hazard_scale, 0.15) \
    X(hazard_node_pirate_base, 0.3) \
    X(hazard_node_pirate_span, 0.5) \
    X(hazard_node_hazard_base, 0.5) \
    X(hazard_node_hazard_span, 0.5) \
    X(richness_risk_bonus, 1.5) \
    X(cluster_asteroids_min, 5.0) \
    X(cluster_asteroids_max, 16.0) \
    X(hazard_asteroids_min, 2.0) \
    X(hazard_asteroids_max, 6.0) \
    X(comp_sigma, 0.8) \
    X(dominant_weight, 3.0) \
    X(richness_sigma, 0.9) \
    X(capacity_base, 40.0) \
    X(capacity_per_richness, 60.0) \
    X(start_fuel, 800.0) \
    X(start_fuel_jitter, 200.0) \
    X(start_tool, 80.0) \
    X(start_tool_jitter, 20.0) \
    X(start_credits, 400.0) \
    X(start_credits_jitter, 200.0) \
    X(start_kits, 2.0) \
    X(start_stabilizers, 1.0) \
    X(start_decoys, 1.0) \
    X(cargo_mass_fuel, 0.5) \
    X(burn_fuel, 25.0) \
    X(burn_alert, 10.0) \
    X(escape_ticks, 6.0) \
    X(hold_heat, 2.5) \
    X(hold_alert, 3.0) \
    X(dock_alert, 20.0) \
    X(heat_dissipation, 2.5) \
    X(docked_heat_factor, 2.0) \
    X(alert_decay, 0.5) \
    X(docked_alert_decay, 5.0) \
    X(inventory_tau, 300.0) \
    X(recent_sales_tau, 14.0) \
    X(shock_tau, 50.0) \
    X(wide_weight, 0.25) \
    X(wide_sigma, 0.35) \
    X(wide_conf_gain, 0.1) \
    X(wide_conf_cap, 0.35) \
    X(wide_fuel, 4.0) \
    X(wide_alert, 4.0) \
    X(wide_misread, 0.15) \
    X(focused_weight, 0.55) \
    X(focused_sigma, 0.2) \
    X(focused_conf_gain, 0.3) \
    X(focused_conf_cap, 0.8) \
    X(focused_fuel, 4.0) \
    X(focused_alert, 3.0) \
    X(deep_weight, 0.9) \
    X(deep_sigma, 0.05) \
    X(deep_conf, 0.95) \
    X(deep_fuel, 10.0) \
    X(deep_alert, 6.0) \
    X(listen_sigma, 0.1) \
    X(mine_yield_0, 2.0) \
    X(mine_yield_1, 3.5) \
    X(mine_yield_2, 5.5) \
    X(mine_sigma_0, 0.1) \
    X(mine_sigma_1, 0.25) \
    X(mine_sigma_2, 0.45) \
    X(mine_heat_0, 3.0) \
    X(mine_heat_1, 6.0) \
    X(mine_heat_2, 11.0) \
    X(mine_wear_0, 0.4) \
    X(mine_wear_1, 0.9) \
    X(mine_wear_2, 2.0) \
    X(mine_alert_0, 0.5) \
    X(mine_alert_1, 1.2) \
    X(mine_alert_2, 2.5) \
    X(mine_fracture_0, 0.0) \
    X(mine_fracture_1, 1.0) \
    X(mine_fracture_2, 2.2) \
    X(richness_factor_cap, 4.0) \
    X(heat_safe, 70.0) \
    X(heat_yield_span, 37.5) \
    X(heat_yield_floor, 0.2) \
    X(fracture_base, -7.5) \
    X(fracture_hull, 5.0) \
    X(fracture_hull_jitter, 15.0) \
    X(fracture_hazard_rise, 0.1) \
    X(stabilize_ticks, 8.0) \
    X(refine_batch, 12.0) \
    X(refined_volume, 0.5) \
    X(refined_price, 1.5) \
    X(refine_fuel, 3.0) \
    X(refine_heat, 8.0) \
    X(refine_alert, 3.0) \
    X(cooldown_heat, 30.0) \
    X(cooldown_fuel, 3.0) \
    X(cooldown_alert, 2.0) \
    X(tool_repair, 25.0) \
    X(hull_repair, 20.0) \
    X(jettison_alert, 8.0) \
    X(p0_0, 40.0) \
    X(p0_1, 55.0) \
    X(p0_2, 80.0) \
    X(p0_3, 150.0) \
    X(p0_4, 220.0) \
    X(p0_5, 110.0) \
    X(price_min_frac, 0.3) \
    X(price_max_frac, 2.2) \
    X(period_min, 150.0) \
    X(period_max, 600.0) \
    X(amplitude_base, 0.08) \
    X(amplitude_span, 0.17) \
    X(inventory_base, 100.0) \
    X(inventory_span, 200.0) \
    X(inventory_price, 0.04) \
    X(recent_sales_price, 0.05) \
    X(shock_rate, 0.002) \
    X(shock_base, 0.2) \
    X(shock_span, 0.3) \
    X(slippage_coef, 0.25) \
    X(slippage_exp, 0.7) \
    X(slippage_cap, 0.6) \
    X(depth_base, 40.0) \
    X(depth_per_inventory, 0.1) \
    X(fuel_amount_0, 100.0) \
    X(fuel_amount_1, 250.0) \
    X(fuel_amount_2, 500.0) \
    X(fuel_price_0, 0.5) \
    X(fuel_price_1, 0.46) \
    X(fuel_price_2, 0.42) \
    X(kit_price, 120.0) \
    X(stabilizer_price, 160.0) \
    X(decoy_price, 100.0) \
    X(overhaul_base, 50.0) \
    X(overhaul_hull_rate, 4.0) \
    X(overhaul_tool_rate, 3.0) \
    X(overheat_hull, 1.25) \
    X(hazard_hull, 0.8) \
    X(hazard_heat, 0.5) \
    X(hazard_alert, 0.3) \
    X(pirate_base, -7.0) \
    X(pirate_intensity, 3.0) \
    X(pirate_alert, 2.5) \
    X(pirate_cargo, 0.6) \
    X(pirate_escape, 2.5) \
    X(decoy_evade, 0.7) \
    X(pirate_loss, 0.2) \
    X(pirate_loss_jitter, 0.4) \
    X(pirate_hull, 3.0) \
    X(pirate_hull_jitter, 10.0) \
    X(pirate_alert_rise, 10.0)


enum {
#define X(name, value) CFG_##name,
    PROSPECTOR_CONFIG(X)
#undef X
    N_CONFIG
};
static const char* const CONFIG_NAMES[N_CONFIG] = {
#define X(name, value) #name,
    PROSPECTOR_CONFIG(X)
#undef X
};
static const double CONFIG_DEFAULTS[N_CONFIG] = {
#define X(name, value) value,
    PROSPECTOR_CONFIG(X)
#undef X
};

/* A validated config plus tables derived from it once (exp() of every possible dt). */
typedef struct {
    double v[N_CONFIG];
    double inventory_decay[MAX_DT + 1];
    double sales_decay[MAX_DT + 1];
    double shock_decay[MAX_DT + 1];
    double shock_chance[MAX_DT + 1];
} Config;

#define C(name) (env->cfg->v[CFG_##name])

static inline void config_init(Config* cfg, const double* values) {
    memcpy(cfg->v, values, sizeof(cfg->v));
    for (int dt = 0; dt <= MAX_DT; dt++) {
        double fdt = (double)dt;
        cfg->inventory_decay[dt] = exp(-fdt / cfg->v[CFG_inventory_tau]);
        cfg->sales_decay[dt] = exp(-fdt / cfg->v[CFG_recent_sales_tau]);
        cfg->shock_decay[dt] = exp(-fdt / cfg->v[CFG_shock_tau]);
        cfg->shock_chance[dt] = 1.0 - pow(1.0 - cfg->v[CFG_shock_rate], fdt);
    }
}

/* ------------------------------------------------------------ 6.1 random */
typedef struct { uint64_t state, inc; } Pcg32;

static inline uint32_t pcg32_next(Pcg32* rng) {
    uint64_t old = rng->state;
    rng->state = old * 6364136223846793005ULL + rng->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

static inline void pcg32_seed(Pcg32* rng, uint64_t seed, uint64_t seq) {
    rng->state = 0u;
    rng->inc = (seq << 1u) | 1u;
    pcg32_next(rng);
    rng->state += seed;
    pcg32_next(rng);
}

static inline double rng_u(Pcg32* rng) { return (double)pcg32_next(rng) * (1.0 / 4294967296.0); }

static inline double rng_n(Pcg32* rng) {
    double u1 = rng_u(rng);
    double u2 = rng_u(rng);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

static inline int rng_randint(Pcg32* rng, int lo, int hi) {
    return lo + (int)(pcg32_next(rng) % (uint32_t)(hi - lo + 1));
}

static inline uint64_t rng_u64(Pcg32* rng) {
    uint64_t hi = pcg32_next(rng);
    return (hi << 32) | pcg32_next(rng);
}

/* SplitMix64: derives each env's first episode seed from the vector seed. */
static inline uint64_t splitmix64(uint64_t* state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* --------------------------------------------------------------- helpers */
static inline double maxd(double a, double b) { return a > b ? a : b; }
static inline double mind(double a, double b) { return a < b ? a : b; }
/* Same result as x < lo ? lo : (x > hi ? hi : x) for every non-NaN x (signed zeros
 * included), written as min then max so the compiler emits minsd/maxsd, no branches. */
static inline double clampd(double x, double lo, double hi) {
    double t = hi < x ? hi : x;
    return lo > t ? lo : t;
}
static inline double unitd(double x) { return clampd(x, 0.0, 1.0); }
static inline double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
/* pow(x, 1.0) is exactly x, so the common dt = 1 case skips the call (same bits). */
static inline double per_step_chance(double p, int dt) {
    return dt == 1 ? 1.0 - (1.0 - p) : 1.0 - pow(1.0 - p, (double)dt);
}

/* ----------------------------------------------------------------- state */
/* What the ship sees first (the observation reads these), then the hidden truth. */
typedef struct {
    double comp_est[N_COMMODITIES];
    double stability_est, depletion, scan_conf;
    double comp[N_COMMODITIES];
    double richness, stability, noise, capacity;
} Asteroid;

/* Node headers are small and sit together, so reading the neighbours of the
 * current node touches a few cache lines; asteroids live apart (Prospector.rocks). */
typedef struct {
    int type, degree, dist, generated, n_asteroids;
    int neighbors[MAX_NEIGHBORS];
    int edge_time[MAX_NEIGHBORS];
    double edge_fuel[MAX_NEIGHBORS];
    double pirate, hazard, richness, threat_est;
} Node;

typedef struct { int type, a, b; double x, y, z; } Event;

typedef struct {
    const Config* cfg;
    float* obs;               /* the vector env points this into a shared numpy buffer */
    double reward;
    int terminated, truncated, end_reason, n_events;

    /* episode */
    uint64_t episode_seed;
    Pcg32 rng;
    int time_max, time_remaining, done, invalid, last_dt;

    /* ship */
    double fuel, hull, heat, tool, alert, credits, start_credits;
    double raw[N_COMMODITIES], refined[N_COMMODITIES];
    int kits, stabilizers, decoys, docked, node, selected;
    int escape_ticks, stab_node, stab_asteroid, stab_ticks;

    /* world */
    int node_count;
    Node nodes[MAX_NODES];

    /* market */
    double p0[N_COMMODITIES], price_min[N_COMMODITIES], price_max[N_COMMODITIES];
    double period[N_COMMODITIES], phase[N_COMMODITIES], amplitude[N_COMMODITIES];
    double inventory[N_COMMODITIES], inventory_start[N_COMMODITIES];
    double recent_sales[N_COMMODITIES], shock[N_COMMODITIES];
    double price[N_COMMODITIES], prev_price[N_COMMODITIES];
    /* price cycle as a unit vector rotated by 2 pi / period each tick (see reference.py) */
    double cycle_sin[N_COMMODITIES], cycle_cos[N_COMMODITIES];
    double turn_sin[N_COMMODITIES], turn_cos[N_COMMODITIES];

    /* episode statistics (info) */
    int overheat_ticks, pirate_encounters, scan_count, mining_ticks;
    double value_lost, fuel_used, hull_damage, tool_wear, cargo_ticks;

    /* episode totals kept for the vector env's per-episode log */
    double episode_return;
    int episode_steps;

    /* observation-writer caches (not game state): sections of obs are rewritten
     * only when something they show changed; parity checks every byte of obs. */
    int mining_active;        /* obs[18]: a valid, not fully depleted asteroid is selected */
    int obs_dirty;            /* OBS_ROCKS | OBS_NEIGHBORS */
    int obs_rocks;            /* asteroid slots that hold non-zero values in obs */
    double obs_volume;        /* cargo volume the neighbour fuel costs were written for */
    double obs_credits, obs_credits_log;

    /* this step's events, and the info of docs/game.md#4-reward-termination-info-events (filled by compute_info on request) */
    Event events[MAX_EVENTS];
    double info[N_INFO];

    /* asteroids of every node, generated on the first visit */
    Asteroid rocks[MAX_NODES][MAX_ASTEROIDS];
} Prospector;

static inline void emit(Prospector* env, int type, int a, int b, double x, double y, double z) {
    if (env->n_events < MAX_EVENTS) {
        Event* e = &env->events[env->n_events++];
        e->type = type; e->a = a; e->b = b; e->x = x; e->y = y; e->z = z;
    }
}

/* ------------------------------------------------------- 6.2 world generation */
static void add_edge(Prospector* env, int a, int b) {
    int ticks = rng_randint(&env->rng, (int)C(edge_time_min), (int)C(edge_time_max));
    double base_fuel = (double)(ticks * rng_randint(&env->rng, (int)C(edge_fuel_min), (int)C(edge_fuel_max)));
    int ends[2][2] = {{a, b}, {b, a}};
    for (int e = 0; e < 2; e++) {
        Node* n = &env->nodes[ends[e][0]];
        n->neighbors[n->degree] = ends[e][1];
        n->edge_time[n->degree] = ticks;
        n->edge_fuel[n->degree] = base_fuel;
        n->degree++;
    }
}

static int linked(const Node* n, int other) {
    for (int k = 0; k < n->degree; k++)
        if (n->neighbors[k] == other) return 1;
    return 0;
}

static void bfs_from_station(Prospector* env) {
    int frontier[MAX_NODES], head = 0, tail = 0;
    for (int i = 0; i < env->node_count; i++) env->nodes[i].dist = -1;
    env->nodes[0].dist = 0;
    frontier[tail++] = 0;
    while (head < tail) {
        Node* n = &env->nodes[frontier[head++]];
        for (int k = 0; k < n->degree; k++) {
            Node* m = &env->nodes[n->neighbors[k]];
            if (m->dist < 0) {
                m->dist = n->dist + 1;
                frontier[tail++] = n->neighbors[k];
            }
        }
    }
}

static inline double sum6(const double* v) {
    double total = 0.0;
    for (int k = 0; k < N_COMMODITIES; k++) total = total + v[k];
    return total;
}

/* A node's asteroids, generated on the first visit from the node's own stream. */
static void visit(Prospector* env, int index) {
    Node* node = &env->nodes[index];
    if (node->generated) return;
    node->generated = 1;
    if (node->type == STATION) return;
    Pcg32 rng;
    pcg32_seed(&rng, env->episode_seed, RNG_SEQ + 1u + (uint64_t)index);
    int count = node->type == CLUSTER
        ? rng_randint(&rng, (int)C(cluster_asteroids_min), (int)C(cluster_asteroids_max))
        : rng_randint(&rng, (int)C(hazard_asteroids_min), (int)C(hazard_asteroids_max));
    int dominant = rng_randint(&rng, 0, N_COMMODITIES - 1);
    for (int a = 0; a < count; a++) {
        Asteroid* ast = &env->rocks[index][a];
        double w[N_COMMODITIES];
        for (int k = 0; k < N_COMMODITIES; k++) {
            double x = exp(C(comp_sigma) * rng_n(&rng));
            w[k] = k == dominant ? x * C(dominant_weight) : x;
        }
        double total = sum6(w);
        for (int k = 0; k < N_COMMODITIES; k++) ast->comp[k] = w[k] / total;
        ast->richness = clampd(node->richness * exp(C(richness_sigma) * rng_n(&rng)), 0.05, 15.0);
        ast->stability = 0.1 + 0.9 * rng_u(&rng);
        ast->noise = 0.2 + 0.8 * rng_u(&rng);
        ast->capacity = C(capacity_base) + C(capacity_per_richness) * ast->richness;
        ast->depletion = 0.0;
        for (int k = 0; k < N_COMMODITIES; k++) ast->comp_est[k] = 1.0 / N_COMMODITIES;
        ast->stability_est = 0.5;
        ast->scan_conf = 0.1;
    }
    node->n_asteroids = count;
}

static void advance_cycles(Prospector* env, int ticks) {
    for (int k = 0; k < N_COMMODITIES; k++) {
        for (int t = 0; t < ticks; t++) {
            double s = env->cycle_sin[k], co = env->cycle_cos[k];
            env->cycle_sin[k] = s * env->turn_cos[k] + co * env->turn_sin[k];
            env->cycle_cos[k] = co * env->turn_cos[k] - s * env->turn_sin[k];
        }
    }
}

static void set_prices(Prospector* env) {
    for (int k = 0; k < N_COMMODITIES; k++) {
        double p = env->p0[k] + env->amplitude[k] * env->cycle_sin[k]
            - C(inventory_price) * (env->inventory[k] - env->inventory_start[k])
            - C(recent_sales_price) * env->recent_sales[k] + env->shock[k];
        env->price[k] = clampd(p, env->price_min[k], env->price_max[k]);
    }
}

static void compute_observations(Prospector* env);
static void write_neighbors(Prospector* env, double volume);
static void write_rocks(Prospector* env);
static void compute_info(Prospector* env);
#ifdef PROSPECTOR_CHECK_INVARIANTS
struct InvariantBefore;
static void check_invariants(const Prospector* env, const struct InvariantBefore* before);
#endif

/* docs/game.md#62-world-generation in draw order; the same order as ReferenceEnv._generate. */
static void c_reset(Prospector* env, uint64_t seed) {
    Pcg32* rng = &env->rng;
    env->episode_seed = seed;
    pcg32_seed(rng, seed, RNG_SEQ);

    int n = rng_randint(rng, (int)C(node_count_min), (int)C(node_count_max));
    int hazard_hi = n / (int)C(hazard_divisor);
    int n_hazard = rng_randint(rng, 1, hazard_hi > 1 ? hazard_hi : 1);
    env->node_count = n;
    for (int i = 0; i < n; i++) {
        Node* node = &env->nodes[i];
        node->type = i == 0 ? STATION : (i >= n - n_hazard ? HAZARD : CLUSTER);
        node->degree = 0;
        node->generated = 0;
        node->n_asteroids = 0;
        node->pirate = 0.0;
        node->hazard = 0.0;
        node->threat_est = UNKNOWN_THREAT;
    }
    for (int i = 1; i < n; i++) {
        int free[MAX_NODES], n_free = 0;
        for (int j = 0; j < i; j++)
            if (env->nodes[j].degree < MAX_NEIGHBORS) free[n_free++] = j;
        add_edge(env, i, free[rng_randint(rng, 0, n_free - 1)]);
    }
    int attempts = n / (int)C(extra_edge_divisor);
    for (int t = 0; t < attempts; t++) {
        int a = rng_randint(rng, 0, n - 1);
        int b = rng_randint(rng, 0, n - 1);
        Node *na = &env->nodes[a], *nb = &env->nodes[b];
        if (a != b && !linked(na, b) && na->degree < MAX_NEIGHBORS && nb->degree < MAX_NEIGHBORS)
            add_edge(env, a, b);
    }
    for (int i = 0; i < n; i++) {
        Node* node = &env->nodes[i];
        if (node->type == CLUSTER) {
            double u = rng_u(rng);
            node->pirate = C(cluster_pirate_scale) * (u * u);
            node->hazard = C(cluster_hazard_scale) * rng_u(rng);
        } else if (node->type == HAZARD) {
            node->pirate = C(hazard_node_pirate_base) + C(hazard_node_pirate_span) * rng_u(rng);
            node->hazard = C(hazard_node_hazard_base) + C(hazard_node_hazard_span) * rng_u(rng);
        }
        node->richness = 1.0 + C(richness_risk_bonus) * (node->pirate + node->hazard);
    }
    bfs_from_station(env);

    for (int k = 0; k < N_COMMODITIES; k++) {
        env->p0[k] = env->cfg->v[CFG_p0_0 + k];
        env->price_min[k] = C(price_min_frac) * env->p0[k];
        env->price_max[k] = C(price_max_frac) * env->p0[k];
    }
    for (int k = 0; k < N_COMMODITIES; k++) {
        int period = rng_randint(rng, (int)C(period_min), (int)C(period_max));
        env->period[k] = (double)period;
        env->phase[k] = rng_u(rng) * period;
        env->amplitude[k] = (C(amplitude_base) + C(amplitude_span) * rng_u(rng)) * env->p0[k];
        double inv = C(inventory_base) + C(inventory_span) * rng_u(rng);
        env->inventory[k] = inv;
        env->inventory_start[k] = inv;
        env->recent_sales[k] = 0.0;
        env->shock[k] = 0.0;
        double angle = 2.0 * M_PI * env->phase[k] / env->period[k];
        env->cycle_sin[k] = sin(angle);
        env->cycle_cos[k] = cos(angle);
        env->turn_sin[k] = sin(2.0 * M_PI / env->period[k]);
        env->turn_cos[k] = cos(2.0 * M_PI / env->period[k]);
    }
    env->time_max = (int)C(time_max);
    env->time_remaining = env->time_max;
    set_prices(env);
    memcpy(env->prev_price, env->price, sizeof(env->price));

    /* capped: start + jitter may exceed the tank or the tool's 100 in an edge config */
    env->fuel = mind(FUEL_MAX, C(start_fuel) + C(start_fuel_jitter) * rng_u(rng));
    env->hull = HULL_MAX;
    env->heat = 0.0;
    env->tool = mind(TOOL_MAX, C(start_tool) + C(start_tool_jitter) * rng_u(rng));
    env->credits = C(start_credits) + C(start_credits_jitter) * rng_u(rng);
    env->start_credits = env->credits;
    env->alert = 0.0;
    for (int k = 0; k < N_COMMODITIES; k++) { env->raw[k] = 0.0; env->refined[k] = 0.0; }
    env->kits = (int)C(start_kits);
    env->stabilizers = (int)C(start_stabilizers);
    env->decoys = (int)C(start_decoys);
    env->docked = 0;
    env->node = 0;
    env->selected = -1;
    env->mining_active = 0;
    env->escape_ticks = 0;
    env->stab_node = -1; env->stab_asteroid = -1; env->stab_ticks = 0;
    visit(env, 0);

    env->overheat_ticks = env->pirate_encounters = env->scan_count = env->mining_ticks = 0;
    env->value_lost = env->fuel_used = env->hull_damage = env->tool_wear = env->cargo_ticks = 0.0;
    env->invalid = 0;
    env->last_dt = 0;
    env->end_reason = END_NONE;
    env->done = 0;
    env->terminated = env->truncated = 0;
    env->reward = 0.0;
    env->n_events = 0;
    env->episode_return = 0.0;
    env->episode_steps = 0;
    memset(env->obs, 0, OBS_DIM * sizeof(float));
    env->obs_rocks = 0;
    env->obs_dirty = OBS_ROCKS | OBS_NEIGHBORS;
    env->obs_credits = -1.0;
    compute_observations(env);
#ifdef PROSPECTOR_CHECK_INVARIANTS
    check_invariants(env, NULL);
#endif
}

/* ------------------------------------------------------------ quantities */
static inline double cargo_volume(const Prospector* env) {
    double v = 0.0;
    for (int k = 0; k < N_COMMODITIES; k++) v = v + (env->raw[k] + C(refined_volume) * env->refined[k]);
    return v;
}

static inline double value_of(const Prospector* env, const double* raw, const double* refined) {
    double v = 0.0;
    for (int k = 0; k < N_COMMODITIES; k++) v = v + (raw[k] + C(refined_price) * refined[k]) * env->price[k];
    return v;
}

static inline double fuel_multiplier(const Prospector* env) {
    return 1.0 + C(cargo_mass_fuel) * cargo_volume(env) / CARGO_MAX;
}

static inline Asteroid* selected_asteroid(Prospector* env) {
    return env->selected < 0 ? NULL : &env->rocks[env->node][env->selected];
}

static inline double overhaul_cost(const Prospector* env) {
    return C(overhaul_base) + C(overhaul_hull_rate) * (HULL_MAX - env->hull)
        + C(overhaul_tool_rate) * (TOOL_MAX - env->tool);
}

static inline double fuel_purchase(const Prospector* env, int size, double* cost) {
    double qty = mind(env->cfg->v[CFG_fuel_amount_0 + size], FUEL_MAX - env->fuel);
    *cost = qty * env->cfg->v[CFG_fuel_price_0 + size];
    return qty;
}

static inline double item_price(const Prospector* env, int item) {
    return item == ITEM_KIT ? C(kit_price) : (item == ITEM_STABILIZER ? C(stabilizer_price) : C(decoy_price));
}

static inline int item_count(const Prospector* env, int item) {
    return item == ITEM_KIT ? env->kits : (item == ITEM_STABILIZER ? env->stabilizers : env->decoys);
}

/* docs/game.md#3-actions "valid when", for every action index (out of range: 0). */
static int is_valid(Prospector* env, int action) {
    if (action < 0 || action >= N_ACTIONS) return 0;
    const Node* node = &env->nodes[env->node];
    const Asteroid* ast = selected_asteroid(env);
    if (action < ACT_HOLD) return action < node->degree;
    if (action == ACT_HOLD || action == ACT_COOLDOWN || action == ACT_CASH_OUT) return 1;
    if (action == ACT_BURN) return env->fuel > 0.0;
    if (action == ACT_WIDE_SCAN) return node->n_asteroids > 0;
    if (action == ACT_FOCUSED_SCAN || action == ACT_DEEP_SCAN) return ast != NULL;
    if (action == ACT_LISTEN) return !env->docked;
    if (action < ACT_MINE) return action - ACT_SELECT < node->n_asteroids;
    if (action < ACT_STABILIZE) return ast != NULL && ast->depletion < 1.0 && cargo_volume(env) < CARGO_MAX;
    if (action == ACT_STABILIZE) return ast != NULL && env->stabilizers >= 1;
    if (action == ACT_REFINE) {
        double total = 0.0;
        for (int k = 0; k < N_COMMODITIES; k++) total = total + env->raw[k];
        return total >= 1.0;
    }
    if (action == ACT_TOOL_MAINT || action == ACT_HULL_PATCH) return env->kits >= 1;
    if (action < ACT_DOCK) {
        int k = action - ACT_JETTISON;
        return env->raw[k] > 0.0 || env->refined[k] > 0.0;
    }
    if (action == ACT_DOCK) return env->node == 0 && !env->docked;
    if (!env->docked) return 0;
    if (action < ACT_BUY_FUEL) {
        int k = (action - ACT_SELL) / 3;
        return env->raw[k] > 0.0 || env->refined[k] > 0.0;
    }
    if (action < ACT_BUY_KIT) {
        double cost;
        fuel_purchase(env, action - ACT_BUY_FUEL, &cost);
        return env->fuel < FUEL_MAX && env->credits >= cost;
    }
    if (action < ACT_OVERHAUL) {
        int item = action - ACT_BUY_KIT + ITEM_KIT;
        return item_count(env, item) < ITEM_CAP && env->credits >= item_price(env, item);
    }
    return (env->hull < HULL_MAX || env->tool < TOOL_MAX) && env->credits >= overhaul_cost(env);
}

/* ------------------------------------------------------ effects helpers */
static inline double burn_fuel(Prospector* env, double amount) {
    double used = mind(amount, env->fuel);
    env->fuel = env->fuel - used;
    env->fuel_used = env->fuel_used + used;
    return used;
}

static inline void damage(Prospector* env, double amount) {
    double lost = mind(amount, env->hull);
    env->hull = env->hull - lost;
    env->hull_damage = env->hull_damage + lost;
}

static inline void raise_alert(Prospector* env, double amount) { env->alert = mind(ALERT_MAX, env->alert + amount); }
static inline void lower_alert(Prospector* env, double amount) { env->alert = maxd(0.0, env->alert - amount); }

static inline void undock(Prospector* env) {
    if (env->docked) {
        env->docked = 0;
        emit(env, EV_UNDOCK, 0, 0, 0.0, 0.0, 0.0);
    }
}

/* est = normalise((1-w) est + w reading); reading = max(0, truth + sigma noise n()) */
static void blend(Prospector* env, Asteroid* ast, const Asteroid* source, double weight, double sigma) {
    double spread = sigma * ast->noise;
    double mixed[N_COMMODITIES];
    for (int k = 0; k < N_COMMODITIES; k++) {
        double reading = maxd(0.0, source->comp[k] + spread * rng_n(&env->rng));
        mixed[k] = (1.0 - weight) * ast->comp_est[k] + weight * reading;
    }
    double total = sum6(mixed);
    if (total > 0.0)
        for (int k = 0; k < N_COMMODITIES; k++) ast->comp_est[k] = mixed[k] / total;
    double reading = clampd(source->stability + spread * rng_n(&env->rng), 0.0, 1.0);
    ast->stability_est = (1.0 - weight) * ast->stability_est + weight * reading;
}

static int scan(Prospector* env, int mode) {
    static const int dts[3] = {3, 2, 5};
    Node* node = &env->nodes[env->node];
    env->scan_count++;
    int target;
    double fuel, alert;
    if (mode == 0) {
        int count = node->n_asteroids;
        for (int i = 0; i < count; i++) {
            Asteroid* ast = &env->rocks[env->node][i];
            const Asteroid* source = ast;
            if (rng_u(&env->rng) < C(wide_misread) && count > 1) {
                int j = rng_randint(&env->rng, 0, count - 2);
                source = &env->rocks[env->node][j >= i ? j + 1 : j];
            }
            blend(env, ast, source, C(wide_weight), C(wide_sigma));
            ast->scan_conf = maxd(ast->scan_conf, mind(C(wide_conf_cap), ast->scan_conf + C(wide_conf_gain)));
        }
        target = -1;
        fuel = C(wide_fuel); alert = C(wide_alert);
    } else {
        Asteroid* ast = &env->rocks[env->node][env->selected];
        if (mode == 1) {
            blend(env, ast, ast, C(focused_weight), C(focused_sigma));
            ast->scan_conf = maxd(ast->scan_conf, mind(C(focused_conf_cap), ast->scan_conf + C(focused_conf_gain)));
            fuel = C(focused_fuel); alert = C(focused_alert);
        } else {
            blend(env, ast, ast, C(deep_weight), C(deep_sigma));
            ast->scan_conf = maxd(ast->scan_conf, C(deep_conf));
            fuel = C(deep_fuel); alert = C(deep_alert);
        }
        target = env->selected;
    }
    double used = burn_fuel(env, fuel);
    raise_alert(env, alert);
    emit(env, EV_SCAN, mode, target, used, 0.0, 0.0);
    return dts[mode];
}

static void mine(Prospector* env, int mode) {
    Asteroid* ast = selected_asteroid(env);
    double tool_frac = env->tool / TOOL_MAX;
    double heat0 = env->heat;
    double heat_eff = heat0 <= C(heat_safe) ? 1.0
        : maxd(C(heat_yield_floor), 1.0 - (heat0 - C(heat_safe)) / C(heat_yield_span));
    double units = env->cfg->v[CFG_mine_yield_0 + mode] * mind(ast->richness, C(richness_factor_cap))
        * (1.0 - ast->depletion) * (0.4 + 0.6 * tool_frac) * heat_eff
        * exp(env->cfg->v[CFG_mine_sigma_0 + mode] * rng_n(&env->rng));
    double free = CARGO_MAX - cargo_volume(env);
    double scale = units > free ? free / units : 1.0;
    double total = 0.0;
    for (int k = 0; k < N_COMMODITIES; k++) {
        double got = units * ast->comp[k] * scale;
        env->raw[k] = env->raw[k] + got;
        total = total + got;
    }
    ast->depletion = mind(1.0, ast->depletion + total / ast->capacity);
    env->heat = env->heat + env->cfg->v[CFG_mine_heat_0 + mode];
    double wear = mind(env->cfg->v[CFG_mine_wear_0 + mode], env->tool);
    env->tool = env->tool - wear;
    env->tool_wear = env->tool_wear + wear;
    raise_alert(env, env->cfg->v[CFG_mine_alert_0 + mode]);
    env->mining_ticks++;
    emit(env, EV_MINE, mode, env->selected, total, 0.0, 0.0);

    double buff = (env->stab_ticks > 0 && env->stab_node == env->node && env->stab_asteroid == env->selected) ? 1.0 : 0.0;
    double logit = C(fracture_base) + env->cfg->v[CFG_mine_fracture_0 + mode] + 3.0 * (1.0 - ast->stability)
        + 4.0 * maxd(0.0, heat0 - C(heat_safe)) / 30.0 + 2.0 * (1.0 - tool_frac)
        - 3.0 * buff;
    if (rng_u(&env->rng) < sigmoid(logit)) {
        ast->depletion = 1.0;
        double dmg = C(fracture_hull) + C(fracture_hull_jitter) * rng_u(&env->rng);
        damage(env, dmg);
        Node* node = &env->nodes[env->node];
        /* never lowers a hazard that an edge config set above the cap */
        node->hazard = maxd(node->hazard, mind(1.0, node->hazard + C(fracture_hazard_rise)));
        emit(env, EV_FRACTURE, env->selected, 0, dmg, 0.0, 0.0);
    }
}

static void sell(Prospector* env, int k, double fraction) {
    double q_raw = fraction * env->raw[k];
    double q_ref = fraction * env->refined[k];
    double qty = q_raw + q_ref;
    double depth = C(depth_base) + C(depth_per_inventory) * env->inventory[k];
    double slippage = mind(C(slippage_cap), C(slippage_coef) * pow((qty + env->recent_sales[k]) / depth, C(slippage_exp)));
    double gained = (q_raw + C(refined_price) * q_ref) * env->price[k] * (1.0 - slippage);
    env->credits = env->credits + gained;
    env->inventory[k] = env->inventory[k] + qty;
    env->recent_sales[k] = env->recent_sales[k] + qty;
    env->raw[k] = env->raw[k] - q_raw;
    env->refined[k] = env->refined[k] - q_ref;
    emit(env, EV_SELL, k, 0, qty, gained, slippage);
}

/* docs/game.md#3-actions and 6: the action's own effects. Returns dt. */
static int apply_action(Prospector* env, int action) {
    Node* node = &env->nodes[env->node];
    if (action < ACT_HOLD) {
        int dest = node->neighbors[action];
        double fuel = burn_fuel(env, node->edge_fuel[action] * fuel_multiplier(env));
        int ticks = node->edge_time[action];
        undock(env);
        emit(env, EV_TRAVEL, env->node, dest, fuel, (double)ticks, 0.0);
        env->node = dest;
        env->selected = -1;
        env->mining_active = 0;
        visit(env, dest);
        env->obs_dirty = OBS_ROCKS | OBS_NEIGHBORS;
        return ticks;
    }
    switch (action) {
    case ACT_HOLD:
        env->heat = maxd(0.0, env->heat - C(hold_heat));
        lower_alert(env, C(hold_alert));
        emit(env, EV_HOLD, 0, 0, 0.0, 0.0, 0.0);
        return 1;
    case ACT_BURN: {
        double fuel = burn_fuel(env, C(burn_fuel));
        raise_alert(env, C(burn_alert));
        env->escape_ticks = (int)C(escape_ticks);
        undock(env);
        emit(env, EV_BURN, 0, 0, fuel, 0.0, 0.0);
        return 1;
    }
    case ACT_WIDE_SCAN: case ACT_FOCUSED_SCAN: case ACT_DEEP_SCAN:
        env->obs_dirty |= OBS_ROCKS;
        return scan(env, action - ACT_WIDE_SCAN);
    case ACT_LISTEN:
        for (int k = 0; k < node->degree; k++) {
            Node* other = &env->nodes[node->neighbors[k]];
            double truth = (other->pirate + other->hazard) / 2.0;
            other->threat_est = clampd(truth + C(listen_sigma) * rng_n(&env->rng), 0.0, 1.0);
        }
        emit(env, EV_LISTEN, node->degree, 0, 0.0, 0.0, 0.0);
        env->obs_dirty |= OBS_NEIGHBORS;
        return 2;
    case ACT_STABILIZE:
        env->stabilizers--;
        env->stab_node = env->node;
        env->stab_asteroid = env->selected;
        env->stab_ticks = (int)C(stabilize_ticks);
        emit(env, EV_STABILIZE, env->selected, 0, 0.0, 0.0, 0.0);
        return 2;
    case ACT_REFINE: {
        int best = 0;
        double best_value = -1.0;
        for (int k = 0; k < N_COMMODITIES; k++) {
            double value = env->raw[k] * env->price[k];
            if (env->raw[k] > 0.0 && value > best_value) { best = k; best_value = value; }
        }
        double qty = mind(C(refine_batch), env->raw[best]);
        env->raw[best] = env->raw[best] - qty;
        env->refined[best] = env->refined[best] + qty;
        burn_fuel(env, C(refine_fuel));
        env->heat = env->heat + C(refine_heat);
        raise_alert(env, C(refine_alert));
        emit(env, EV_REFINE, best, 0, qty, 0.0, 0.0);
        return 3;
    }
    case ACT_COOLDOWN: {
        double drop = mind(C(cooldown_heat), env->heat);
        env->heat = env->heat - drop;
        burn_fuel(env, C(cooldown_fuel));
        raise_alert(env, C(cooldown_alert));
        emit(env, EV_COOLDOWN, 0, 0, drop, 0.0, 0.0);
        return 2;
    }
    case ACT_TOOL_MAINT: {
        env->kits--;
        double gain = mind(C(tool_repair), TOOL_MAX - env->tool);
        env->tool = env->tool + gain;
        emit(env, EV_REPAIR, REPAIR_TOOL, 0, gain, 0.0, 0.0);
        return 2;
    }
    case ACT_HULL_PATCH: {
        env->kits--;
        double gain = mind(C(hull_repair), HULL_MAX - env->hull);
        env->hull = env->hull + gain;
        emit(env, EV_REPAIR, REPAIR_HULL, 0, gain, 0.0, 0.0);
        return 2;
    }
    case ACT_DOCK:
        env->docked = 1;
        lower_alert(env, C(dock_alert));
        emit(env, EV_DOCK, 0, 0, 0.0, 0.0, 0.0);
        return 1;
    case ACT_OVERHAUL: {
        double cost = overhaul_cost(env);
        double gain = (HULL_MAX - env->hull) + (TOOL_MAX - env->tool);
        env->credits = env->credits - cost;
        env->hull = HULL_MAX;
        env->tool = TOOL_MAX;
        emit(env, EV_REPAIR, REPAIR_OVERHAUL, 0, gain, cost, 0.0);
        return 4;
    }
    case ACT_CASH_OUT:
        return 0;
    }
    if (action < ACT_MINE) {
        env->obs_dirty |= OBS_ROCKS;
        env->selected = action - ACT_SELECT;
        env->mining_active = env->rocks[env->node][env->selected].depletion < 1.0;
        emit(env, EV_SELECT, env->selected, 0, 0.0, 0.0, 0.0);
        return 1;
    }
    if (action < ACT_STABILIZE) {
        env->obs_dirty |= OBS_ROCKS;
        mine(env, action - ACT_MINE);
        env->mining_active = env->rocks[env->node][env->selected].depletion < 1.0;
        return 1;
    }
    if (action < ACT_DOCK) {
        int k = action - ACT_JETTISON;
        double qty = env->raw[k] + env->refined[k];
        env->raw[k] = 0.0;
        env->refined[k] = 0.0;
        lower_alert(env, C(jettison_alert));
        emit(env, EV_JETTISON, k, 0, qty, 0.0, 0.0);
        return 1;
    }
    if (action < ACT_BUY_FUEL) {
        sell(env, (action - ACT_SELL) / 3, SELL_FRACTIONS[(action - ACT_SELL) % 3]);
        return 1;
    }
    if (action < ACT_BUY_KIT) {
        double cost;
        double qty = fuel_purchase(env, action - ACT_BUY_FUEL, &cost);
        env->fuel = env->fuel + qty;
        env->credits = env->credits - cost;
        emit(env, EV_BUY, ITEM_FUEL, 0, qty, cost, 0.0);
        return 1;
    }
    /* BUY kit / stabilizer / decoy */
    int item = action - ACT_BUY_KIT + ITEM_KIT;
    double price = item_price(env, item);
    if (item == ITEM_KIT) env->kits++;
    else if (item == ITEM_STABILIZER) env->stabilizers++;
    else env->decoys++;
    env->credits = env->credits - price;
    emit(env, EV_BUY, item, 0, 1.0, price, 0.0);
    return 1;
}

static inline double cargo_value(const Prospector* env) { return value_of(env, env->raw, env->refined); }
static inline double log1p_cargo(double x) { return x == 0.0 ? 0.0 : log1p(x); } /* log1p(0) is 0 */

/* Hazards, then pirates, at the current node (docs/game.md#68-exposure-pirates-heat-damage). */
static void exposure(Prospector* env, int dt) {
    Node* node = &env->nodes[env->node];
    double fdt = (double)dt;
    if (node->hazard > 0.0) {
        double dmg = C(hazard_hull) * node->hazard * fdt * (0.5 + rng_u(&env->rng));
        double heat = C(hazard_heat) * node->hazard * fdt;
        damage(env, dmg);
        env->heat = mind(HEAT_MAX, env->heat + heat);
        raise_alert(env, C(hazard_alert) * node->hazard * fdt);
        emit(env, EV_HAZARD_DAMAGE, 0, 0, dmg, heat, 0.0);
    }
    double escape = env->escape_ticks > 0 ? 1.0 : 0.0;
    double logit = C(pirate_base) + C(pirate_intensity) * node->pirate
        + C(pirate_alert) * (env->alert / ALERT_MAX)
        + C(pirate_cargo) * log1p_cargo(cargo_value(env) / 1000.0)
        - C(pirate_escape) * escape;
    if (rng_u(&env->rng) >= per_step_chance(sigmoid(logit), dt)) return;
    env->pirate_encounters++;
    double share = 1.0;
    int outcome = PIRATE_HIT;
    if (env->decoys > 0) {
        env->decoys--;
        if (rng_u(&env->rng) < C(decoy_evade)) outcome = PIRATE_EVADED;
        else { outcome = PIRATE_PARTIAL; share = 0.5; }
    }
    double loss = 0.0, dmg = 0.0;
    if (outcome != PIRATE_EVADED) {
        /* capped: pirates take at most the whole stack (loss + jitter may exceed 1) */
        double frac = mind(1.0, (C(pirate_loss) + C(pirate_loss_jitter) * rng_u(&env->rng)) * share);
        dmg = (C(pirate_hull) + C(pirate_hull_jitter) * rng_u(&env->rng)) * share;
        for (int k = 0; k < N_COMMODITIES; k++) {
            double lost_raw = env->raw[k] * frac;
            double lost_ref = env->refined[k] * frac;
            env->raw[k] = env->raw[k] - lost_raw;
            env->refined[k] = env->refined[k] - lost_ref;
            loss = loss + (lost_raw + C(refined_price) * lost_ref) * env->price[k];
        }
        env->value_lost = env->value_lost + loss;
        damage(env, dmg);
    }
    raise_alert(env, C(pirate_alert_rise));
    emit(env, EV_PIRATE, outcome, 0, loss, dmg, 0.0);
}

/* ------------------------------------------------------------ invariants
 * Compiled in only with -DPROSPECTOR_CHECK_INVARIANTS (the sanitizer, valgrind and
 * fuzz builds of tests/native/); the release extension never sees this code, so it
 * stays as fast and bit-exact as before.  After every reset and step the state must
 * be within its bounds, and the step's events must agree with what changed.
 * prospector/invariants.py checks the same list in Python (docs/reliability.md).
 * A violation calls PROSPECTOR_INVARIANT_FAILED(env, message), abort() by default.
 */
#ifdef PROSPECTOR_CHECK_INVARIANTS
#ifndef PROSPECTOR_INVARIANT_FAILED
#include <stdio.h>
#include <stdlib.h>
#define PROSPECTOR_INVARIANT_FAILED(env, message) do { \
        fprintf(stderr, "prospector invariant violated: %s (episode seed %llu, step %d)\n", \
                (message), (unsigned long long)(env)->episode_seed, (env)->episode_steps); \
        abort(); \
    } while (0)
#endif
#define INVARIANT(cond, message) do { if (!(cond)) PROSPECTOR_INVARIANT_FAILED(env, message); } while (0)
/* Cargo sums of six products may round past CARGO_MAX by a few ulps when mining fills
 * the hold exactly (design choice 17); anything beyond this is a bug. */
#define CARGO_TOLERANCE 1e-9

typedef struct InvariantBefore {
    double fuel, hull, tool, credits, raw[N_COMMODITIES], refined[N_COMMODITIES];
    double depletion, hazard;
    int kits, stabilizers, decoys, docked, node, selected, time_remaining;
} InvariantBefore;

static inline void invariant_before(const Prospector* env, InvariantBefore* b) {
    b->fuel = env->fuel; b->hull = env->hull; b->tool = env->tool; b->credits = env->credits;
    memcpy(b->raw, env->raw, sizeof(b->raw));
    memcpy(b->refined, env->refined, sizeof(b->refined));
    b->kits = env->kits; b->stabilizers = env->stabilizers; b->decoys = env->decoys;
    b->docked = env->docked; b->node = env->node; b->selected = env->selected;
    b->time_remaining = env->time_remaining;
    b->depletion = env->selected >= 0 ? env->rocks[env->node][env->selected].depletion : 0.0;
    b->hazard = env->nodes[env->node].hazard;
}

static inline const Event* invariant_event(const Prospector* env, int type, int a) {
    for (int e = 0; e < env->n_events; e++)
        if (env->events[e].type == type && (a < 0 || env->events[e].a == a)) return &env->events[e];
    return NULL;
}
#define HAS(type) (invariant_event(env, (type), -1) != NULL)

static inline int in_range(double x, double lo, double hi) { return x >= lo && x <= hi; } /* NaN fails */

/* The state bounds; `before` is NULL right after a reset. */
static void check_invariants(const Prospector* env, const InvariantBefore* before) {
    /* observation: finite, within [-1, 1] */
    for (int i = 0; i < OBS_DIM; i++) INVARIANT(in_range((double)env->obs[i], -1.0, 1.0), "obs finite and in [-1, 1]");
    /* ship */
    INVARIANT(in_range(env->fuel, 0.0, FUEL_MAX), "0 <= fuel <= FUEL_MAX");
    INVARIANT(in_range(env->hull, 0.0, HULL_MAX), "0 <= hull <= HULL_MAX");
    INVARIANT(in_range(env->heat, 0.0, HEAT_MAX), "0 <= heat <= HEAT_MAX");
    INVARIANT(in_range(env->tool, 0.0, TOOL_MAX), "0 <= tool <= TOOL_MAX");
    INVARIANT(in_range(env->alert, 0.0, ALERT_MAX), "0 <= alert <= ALERT_MAX");
    INVARIANT(env->credits >= 0.0 && isfinite(env->credits), "credits finite and >= 0");
    for (int k = 0; k < N_COMMODITIES; k++) {
        INVARIANT(env->raw[k] >= 0.0 && isfinite(env->raw[k]), "raw cargo finite and >= 0");
        INVARIANT(env->refined[k] >= 0.0 && isfinite(env->refined[k]), "refined cargo finite and >= 0");
    }
    INVARIANT(cargo_volume(env) <= CARGO_MAX + CARGO_TOLERANCE, "cargo volume <= CARGO_MAX");
    INVARIANT(env->kits >= 0 && env->kits <= ITEM_CAP, "0 <= kits <= ITEM_CAP");
    INVARIANT(env->stabilizers >= 0 && env->stabilizers <= ITEM_CAP, "0 <= stabilizers <= ITEM_CAP");
    INVARIANT(env->decoys >= 0 && env->decoys <= ITEM_CAP, "0 <= decoys <= ITEM_CAP");
    INVARIANT(env->time_remaining >= 0 && env->time_remaining <= env->time_max, "0 <= time_remaining <= time_max");
    INVARIANT(env->escape_ticks >= 0 && env->stab_ticks >= 0, "buff counters >= 0");
    /* world */
    INVARIANT(env->node_count >= 2 && env->node_count <= MAX_NODES, "2 <= node_count <= MAX_NODES");
    INVARIANT(env->node >= 0 && env->node < env->node_count, "node index in range");
    INVARIANT(!env->docked || env->node == 0, "docked only at the station");
    const Node* here = &env->nodes[env->node];
    INVARIANT(env->selected >= -1 && env->selected < here->n_asteroids, "selection in range");
    for (int i = 0; i < env->node_count; i++) {
        const Node* n = &env->nodes[i];
        INVARIANT(n->degree >= 1 && n->degree <= MAX_NEIGHBORS, "1 <= degree <= MAX_NEIGHBORS");
        INVARIANT(n->n_asteroids >= 0 && n->n_asteroids <= MAX_ASTEROIDS, "asteroid count in range");
        INVARIANT(in_range(n->threat_est, 0.0, 1.0), "threat estimate in [0, 1]");
        INVARIANT(n->pirate >= 0.0 && n->hazard >= 0.0, "intensities >= 0");
        for (int k = 0; k < n->degree; k++)
            INVARIANT(n->neighbors[k] >= 0 && n->neighbors[k] < env->node_count && n->neighbors[k] != i, "neighbour index in range");
        for (int a = 0; a < n->n_asteroids; a++) {
            const Asteroid* r = &env->rocks[i][a];
            INVARIANT(in_range(r->depletion, 0.0, 1.0), "depletion in [0, 1]");
            INVARIANT(in_range(r->scan_conf, 0.0, 1.0), "scan confidence in [0, 1]");
            INVARIANT(in_range(r->stability_est, 0.0, 1.0), "stability estimate in [0, 1]");
            for (int k = 0; k < N_COMMODITIES; k++) INVARIANT(in_range(r->comp_est[k], 0.0, 1.0), "composition estimate in [0, 1]");
        }
    }
    for (int k = 0; k < N_COMMODITIES; k++) {
        INVARIANT(in_range(env->price[k], env->price_min[k], env->price_max[k]), "price within [price_min, price_max]");
        INVARIANT(env->inventory[k] >= 0.0 && env->recent_sales[k] >= 0.0, "inventory and recent sales >= 0");
    }
    INVARIANT(isfinite(env->reward), "reward finite");
    INVARIANT(env->n_events >= 0 && env->n_events <= MAX_EVENTS, "event count in range");
    if (before == NULL) {
        INVARIANT(env->n_events == 0 && !env->done, "a reset emits nothing and is not done");
        return;
    }

    /* events agree with the state change */
    const Event* first = env->n_events > 0 ? &env->events[0] : NULL;
    INVARIANT(env->invalid == (first != NULL && first->type == EV_INVALID), "invalid <=> the step's first event is invalid");
    INVARIANT(env->done == HAS(EV_END), "episode end <=> an end event");
    if (env->done) {
        const Event* last = &env->events[env->n_events - 1];
        INVARIANT(last->type == EV_END && last->a == env->end_reason, "the end event is last and names the reason");
        INVARIANT(env->terminated != env->truncated, "exactly one of terminated, truncated");
        INVARIANT(env->truncated == (env->end_reason == END_TIMEOUT), "truncated <=> timeout");
    } else {
        INVARIANT(env->end_reason == END_NONE && !env->terminated && !env->truncated, "no end reason while running");
    }
    INVARIANT(env->time_remaining == (before->time_remaining - env->last_dt > 0 ? before->time_remaining - env->last_dt : 0),
              "time_remaining falls by dt");
    /* credits: a sale adds exactly its credits, a purchase or overhaul takes exactly its price */
    const Event* sale = invariant_event(env, EV_SELL, -1);
    const Event* buy = invariant_event(env, EV_BUY, -1);
    const Event* overhaul = invariant_event(env, EV_REPAIR, REPAIR_OVERHAUL);
    if (sale) INVARIANT(sale->y >= 0.0 && env->credits == before->credits + sale->y, "a sell event adds its credits");
    else if (buy) INVARIANT(buy->y >= 0.0 && env->credits == before->credits - buy->y, "a buy event takes its price");
    else if (overhaul) INVARIANT(overhaul->y >= 0.0 && env->credits == before->credits - overhaul->y, "an overhaul takes its price");
    else INVARIANT(env->credits == before->credits, "credits change only by sell, buy or overhaul events");
    INVARIANT(env->credits <= before->credits || sale != NULL, "credits rose => a sell event");
    /* position and docking */
    const Event* travel = invariant_event(env, EV_TRAVEL, -1);
    INVARIANT((travel != NULL) == (env->node != before->node), "travel event <=> the node changed");
    if (travel) INVARIANT(travel->a == before->node && travel->b == env->node, "travel event names both nodes");
    INVARIANT(HAS(EV_DOCK) == (!before->docked && env->docked), "dock event <=> docked");
    INVARIANT(HAS(EV_UNDOCK) == (before->docked && !env->docked), "undock event <=> undocked");
    /* resources */
    const Event* fuel_buy = invariant_event(env, EV_BUY, ITEM_FUEL);
    INVARIANT(env->fuel <= before->fuel || fuel_buy != NULL, "fuel rose => a fuel purchase");
    if (fuel_buy) INVARIANT(env->fuel == before->fuel + fuel_buy->x, "a fuel purchase adds its quantity");
    INVARIANT(env->hull >= before->hull || HAS(EV_HAZARD_DAMAGE) || HAS(EV_PIRATE) || HAS(EV_FRACTURE) || HAS(EV_OVERHEAT),
              "hull fell => a damage event");
    INVARIANT(env->hull <= before->hull || invariant_event(env, EV_REPAIR, REPAIR_HULL) || overhaul, "hull rose => a repair event");
    INVARIANT(env->tool >= before->tool || HAS(EV_MINE), "tool fell => a mine event");
    INVARIANT(env->tool <= before->tool || invariant_event(env, EV_REPAIR, REPAIR_TOOL) || overhaul, "tool rose => a repair event");
    for (int k = 0; k < N_COMMODITIES; k++) {
        INVARIANT(env->raw[k] <= before->raw[k] || HAS(EV_MINE), "raw cargo rose => a mine event");
        INVARIANT(env->refined[k] <= before->refined[k] || invariant_event(env, EV_REFINE, k), "refined cargo rose => a refine event");
        INVARIANT(env->raw[k] >= before->raw[k] || invariant_event(env, EV_SELL, k) || invariant_event(env, EV_JETTISON, k)
                  || invariant_event(env, EV_REFINE, k) || HAS(EV_PIRATE), "raw cargo fell => sell, jettison, refine or pirate");
        INVARIANT(env->refined[k] >= before->refined[k] || invariant_event(env, EV_SELL, k) || invariant_event(env, EV_JETTISON, k)
                  || HAS(EV_PIRATE), "refined cargo fell => sell, jettison or pirate");
    }
    INVARIANT(env->kits <= before->kits || invariant_event(env, EV_BUY, ITEM_KIT), "kits rose => a kit purchase");
    INVARIANT(env->kits >= before->kits || invariant_event(env, EV_REPAIR, REPAIR_TOOL) || invariant_event(env, EV_REPAIR, REPAIR_HULL),
              "kits fell => a kit repair");
    INVARIANT(env->stabilizers <= before->stabilizers || invariant_event(env, EV_BUY, ITEM_STABILIZER), "stabilizers rose => a purchase");
    INVARIANT(env->stabilizers >= before->stabilizers || HAS(EV_STABILIZE), "stabilizers fell => a stabilize event");
    INVARIANT(env->decoys <= before->decoys || invariant_event(env, EV_BUY, ITEM_DECOY), "decoys rose => a purchase");
    INVARIANT(env->decoys >= before->decoys || HAS(EV_PIRATE), "decoys fell => a pirate event");
    /* mining wears rocks down and fractures only raise hazards */
    if (!travel && before->selected >= 0) {
        double depletion = env->rocks[env->node][before->selected].depletion;
        INVARIANT(depletion >= before->depletion, "depletion never falls");
        INVARIANT(depletion == before->depletion || HAS(EV_MINE), "depletion rose => a mine event");
    }
    if (!travel) INVARIANT(env->nodes[env->node].hazard >= before->hazard, "a node's hazard never falls");
}
#undef HAS
#undef INVARIANT
#endif /* PROSPECTOR_CHECK_INVARIANTS */

/* ------------------------------------------------------------------ step */
/* docs/game.md#5-step-order, the authoritative step order.  `action` may be anything: out of range is invalid. */
static void c_step(Prospector* env, int action) {
#ifdef PROSPECTOR_CHECK_INVARIANTS
    InvariantBefore invariant_state;
    invariant_before(env, &invariant_state);
#endif
    env->n_events = 0;
    double credits0 = env->credits, fuel_used0 = env->fuel_used;
    double tool0 = env->tool, hull0 = env->hull, value_lost0 = env->value_lost;
    double raw0[N_COMMODITIES], refined0[N_COMMODITIES];
    memcpy(raw0, env->raw, sizeof(raw0));
    memcpy(refined0, env->refined, sizeof(refined0));

    /* 1. validate */
    env->invalid = !is_valid(env, action);
    if (env->invalid) {
        emit(env, EV_INVALID, action, 0, 0.0, 0.0, 0.0);
        action = ACT_HOLD;
    }
    /* 2. effects */
    int dt = apply_action(env, action);
    env->last_dt = dt;

    if (dt > 0) {
        double fdt = (double)dt;
        /* 3. passive dynamics */
        env->time_remaining = env->time_remaining - dt > 0 ? env->time_remaining - dt : 0;
        double diss = env->docked ? C(heat_dissipation) * C(docked_heat_factor) : C(heat_dissipation);
        env->heat = maxd(0.0, env->heat - diss * fdt);
        double decay = env->docked ? C(docked_alert_decay) : C(alert_decay);
        env->alert = maxd(0.0, env->alert - decay * fdt);
        env->escape_ticks = env->escape_ticks - dt > 0 ? env->escape_ticks - dt : 0;
        env->stab_ticks = env->stab_ticks - dt > 0 ? env->stab_ticks - dt : 0;
        double inv_decay = env->cfg->inventory_decay[dt];
        double sales_decay = env->cfg->sales_decay[dt];
        for (int k = 0; k < N_COMMODITIES; k++) {
            env->inventory[k] = env->inventory_start[k] + (env->inventory[k] - env->inventory_start[k]) * inv_decay;
            env->recent_sales[k] = env->recent_sales[k] * sales_decay;
        }
        /* 4. overheat */
        if (env->heat > HEAT_MAX) {
            double dmg = C(overheat_hull) * (env->heat - HEAT_MAX);
            damage(env, dmg);
            env->heat = HEAT_MAX;
            emit(env, EV_OVERHEAT, 0, 0, dmg, 0.0, 0.0);
        }
        /* 5. exposure */
        if (!env->docked && env->node != 0) exposure(env, dt);
        if (env->heat > C(heat_safe)) env->overheat_ticks += dt;
        /* 6. market */
        memcpy(env->prev_price, env->price, sizeof(env->price));
        double shock_decay = env->cfg->shock_decay[dt];
        double shock_chance = env->cfg->shock_chance[dt];
        for (int k = 0; k < N_COMMODITIES; k++) {
            env->shock[k] = env->shock[k] * shock_decay;
            if (rng_u(&env->rng) < shock_chance) {
                double sign = rng_u(&env->rng) < 0.5 ? -1.0 : 1.0;
                env->shock[k] = env->shock[k] + sign * ((C(shock_base) + C(shock_span) * rng_u(&env->rng)) * env->p0[k]);
            }
        }
        advance_cycles(env, dt);
        set_prices(env);
        env->cargo_ticks = env->cargo_ticks + cargo_volume(env) / CARGO_MAX * fdt;
    }

    /* 7. termination */
    env->terminated = env->truncated = 0;
    if (env->hull <= 0.0) { env->end_reason = END_DESTROYED; env->terminated = 1; }
    else if (env->fuel <= 0.0 && env->node != 0) { env->end_reason = END_STRANDED; env->terminated = 1; }
    else if (action == ACT_CASH_OUT) { env->end_reason = END_CASH_OUT; env->terminated = 1; }
    else if (env->time_remaining <= 0) { env->end_reason = END_TIMEOUT; env->truncated = 1; }
    env->done = env->terminated || env->truncated;
    if (env->done) emit(env, EV_END, env->end_reason, 0, 0.0, 0.0, 0.0);

    /* 8. reward, observation, info */
    double cargo_gain = value_of(env, env->raw, env->refined) - value_of(env, raw0, refined0);
    double h = maxd(0.0, env->heat - R_HEAT_THRESHOLD) / 100.0;
    double r_terminal = 0.0;
    if (env->end_reason == END_DESTROYED) r_terminal = R_DESTROYED;
    else if (env->end_reason == END_STRANDED) r_terminal = R_STRANDED;
    else if (env->done) r_terminal = R_FINAL_CREDITS * env->credits / CREDIT_SCALE;
    int scanned = action == ACT_WIDE_SCAN || action == ACT_FOCUSED_SCAN || action == ACT_DEEP_SCAN;
    env->reward = (env->credits - credits0) / CREDIT_SCALE
        + R_EXTRACT * maxd(0.0, cargo_gain) / CREDIT_SCALE
        + R_FUEL * maxd(0.0, env->fuel_used - fuel_used0) / 100.0
        + R_TIME * (double)dt
        + R_WEAR * maxd(0.0, tool0 - env->tool) / 10.0
        + R_DAMAGE * maxd(0.0, hull0 - env->hull) / 10.0
        + R_HEAT * (h * h)
        + (scanned ? R_SCAN : 0.0)
        + (env->invalid ? R_INVALID : 0.0)
        + R_PIRATE * (env->value_lost - value_lost0) / CREDIT_SCALE
        + r_terminal;
    env->episode_return += env->reward;
    env->episode_steps++;
    compute_observations(env);
#ifdef PROSPECTOR_CHECK_INVARIANTS
    check_invariants(env, &invariant_state);
#endif
}

/* ----------------------------------------------------------- observation */
/* Writes every field each step except slots known to be zero already: reset
 * clears the whole vector, and asteroid slots past the current count are cleared
 * only as far as the last step filled them. */
static void compute_observations(Prospector* env) {
    float* obs = env->obs;
    const Node* node = &env->nodes[env->node];
    double volume = cargo_volume(env);
    obs[O_FUEL] = (float)unitd(env->fuel / FUEL_MAX);
    obs[O_HULL] = (float)unitd(env->hull / HULL_MAX);
    obs[O_HEAT] = (float)unitd(env->heat / HEAT_MAX);
    obs[O_TOOL] = (float)unitd(env->tool / TOOL_MAX);
    obs[O_CARGO] = (float)unitd(volume / CARGO_MAX);
    obs[O_ALERT] = (float)unitd(env->alert / ALERT_MAX);
    obs[O_TIME] = (float)unitd((double)env->time_remaining / (double)env->time_max);
    if (env->credits != env->obs_credits) { /* log1p only when credits moved */
        env->obs_credits = env->credits;
        env->obs_credits_log = unitd(log1p(maxd(env->credits, 0.0)) / log1p(CREDITS_CAP));
    }
    obs[O_CREDITS] = (float)env->obs_credits_log;
    for (int k = 0; k < N_COMMODITIES; k++)
        obs[O_CARGO_C + k] = (float)unitd((env->raw[k] + C(refined_volume) * env->refined[k]) / CARGO_MAX);
    obs[O_KITS] = (float)unitd((double)env->kits / ITEM_CAP);
    obs[O_STABILIZERS] = (float)unitd((double)env->stabilizers / ITEM_CAP);
    obs[O_DECOYS] = (float)unitd((double)env->decoys / ITEM_CAP);
    obs[O_DOCKED] = env->docked ? 1.0f : 0.0f;
    obs[O_MINING] = env->mining_active ? 1.0f : 0.0f;
    for (int t = 0; t < 3; t++) obs[O_NODE_TYPE + t] = node->type == t ? 1.0f : 0.0f;
    obs[O_NODE_INDEX] = (float)unitd((double)env->node / (MAX_NODES - 1));
    obs[O_STEPS_TO_STATION] = (float)unitd((double)node->dist / (MAX_NODES - 1));

    if (volume != env->obs_volume) env->obs_dirty |= OBS_NEIGHBORS; /* fuel costs scale with cargo */
    if (env->obs_dirty & OBS_NEIGHBORS) write_neighbors(env, volume);
    if (env->obs_dirty & OBS_ROCKS) write_rocks(env);
    env->obs_dirty = 0;
    for (int k = 0; k < N_COMMODITIES; k++) {
        obs[O_PRICE + k] = (float)unitd(env->price[k] / env->price_max[k]);
        double delta = (env->price[k] - env->prev_price[k]) / (PRICE_DELTA_NORM * env->p0[k]);
        obs[O_PRICE_DELTA + k] = (float)clampd(delta, -1.0, 1.0);
    }
    for (int i = 0; i < 4; i++)
        obs[O_INVENTORY + i] = (float)unitd(env->inventory[INVENTORY_COMMODITIES[i]] / INVENTORY_NORM);
}

static void write_neighbors(Prospector* env, double volume) {
    float* obs = env->obs;
    const Node* node = &env->nodes[env->node];
    double mult = fuel_multiplier(env);
    env->obs_volume = volume;
    for (int k = 0; k < MAX_NEIGHBORS; k++) {
        float* slot = obs + NEIGHBOR_BASE + NEIGHBOR_STRIDE * k;
        if (k >= node->degree) {
            for (int f = 0; f < NEIGHBOR_STRIDE; f++) slot[f] = 0.0f;
            continue;
        }
        const Node* other = &env->nodes[node->neighbors[k]];
        slot[N_VALID] = 1.0f;
        for (int t = 0; t < 3; t++) slot[N_TYPE + t] = other->type == t ? 1.0f : 0.0f;
        slot[N_TRAVEL] = (float)unitd((double)node->edge_time[k] / TRAVEL_TIME_NORM);
        slot[N_FUEL] = (float)unitd(node->edge_fuel[k] * mult / FUEL_COST_NORM);
        slot[N_THREAT] = (float)unitd(other->threat_est);
    }
}

static void write_rocks(Prospector* env) {
    float* obs = env->obs;
    const Asteroid* rocks = env->rocks[env->node];
    int n_rocks = env->nodes[env->node].n_asteroids;
    for (int a = 0; a < n_rocks; a++) {
        float* slot = obs + ASTEROID_BASE + ASTEROID_STRIDE * a;
        const Asteroid* rock = &rocks[a];
        slot[A_VALID] = 1.0f;
        for (int k = 0; k < N_COMMODITIES; k++) slot[A_COMP + k] = (float)unitd(rock->comp_est[k]);
        slot[A_STABILITY] = (float)unitd(rock->stability_est);
        slot[A_DEPLETION] = (float)unitd(rock->depletion);
        slot[A_CONF] = (float)unitd(rock->scan_conf);
        slot[A_SELECTED] = a == env->selected ? 1.0f : 0.0f;
    }
    if (env->obs_rocks > n_rocks)
        memset(obs + ASTEROID_BASE + ASTEROID_STRIDE * n_rocks, 0,
               (size_t)(env->obs_rocks - n_rocks) * ASTEROID_STRIDE * sizeof(float));
    env->obs_rocks = n_rocks;
}

/* The docs/game.md#4-reward-termination-info-events info into env->info; called by the binding when info is wanted
 * (every step of the single-game env, and at episode ends in the vector env). */
static void compute_info(Prospector* env) {
    double* info = env->info;
    int elapsed = env->time_max - env->time_remaining;
    double ticks = (double)(elapsed > 1 ? elapsed : 1);
    double net = env->credits - env->start_credits;
    info[I_CREDITS] = env->credits;
    info[I_NET_PROFIT] = net;
    info[I_PROFIT_PER_TICK] = net / ticks;
    info[I_SURVIVAL] = (env->end_reason == END_DESTROYED || env->end_reason == END_STRANDED) ? 0.0 : 1.0;
    info[I_OVERHEAT_TICKS] = (double)env->overheat_ticks;
    info[I_PIRATE_ENCOUNTERS] = (double)env->pirate_encounters;
    info[I_VALUE_LOST] = env->value_lost;
    info[I_FUEL_USED] = env->fuel_used;
    info[I_HULL_DAMAGE] = env->hull_damage;
    info[I_TOOL_WEAR] = env->tool_wear;
    info[I_SCAN_COUNT] = (double)env->scan_count;
    info[I_MINING_TICKS] = (double)env->mining_ticks;
    info[I_CARGO_UTIL] = env->cargo_ticks / ticks;
    info[I_DT] = (double)env->last_dt;
    info[I_INVALID] = env->invalid ? 1.0 : 0.0;
    info[I_TIME_REMAINING] = (double)env->time_remaining;
}

#endif /* PROSPECTOR_H */
