/* CPython binding of the simulation core: thin, like PufferLib's Ocean bindings.
 *
 * A handle (capsule) owns N Prospector structs whose obs pointers point into a
 * numpy float32 [N, 260] buffer owned by Python.  vec_step() steps all of them in
 * one call, auto-resets finished games and writes one log row per finished episode.
 * The single-game env uses the same handle with N = 1 and the env_* functions.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>

#include "prospector.h"

/* log row per finished episode: the N_INFO info values, then these */
enum { LOG_END_REASON = N_INFO, LOG_RETURN, LOG_LENGTH, LOG_WIDTH };

typedef struct {
    int num_envs;
    Config cfg;
    Prospector* envs;
    Py_buffer obs, actions, rewards, terminals, truncations;
} Vec;

static const char* CAPSULE = "prospector.Vec";

static void vec_free(PyObject* capsule) {
    Vec* vec = (Vec*)PyCapsule_GetPointer(capsule, CAPSULE);
    if (vec == NULL) return;
    PyBuffer_Release(&vec->obs);
    PyBuffer_Release(&vec->actions);
    PyBuffer_Release(&vec->rewards);
    PyBuffer_Release(&vec->terminals);
    PyBuffer_Release(&vec->truncations);
    free(vec->envs);
    free(vec);
}

static Vec* get_vec(PyObject* capsule) { return (Vec*)PyCapsule_GetPointer(capsule, CAPSULE); }

/* A writable C-contiguous buffer of `count` items of `itemsize` bytes, or a clear error. */
static int get_buffer(PyObject* obj, Py_buffer* view, const char* name, Py_ssize_t itemsize,
                      char kind, Py_ssize_t count) {
    if (PyObject_GetBuffer(obj, view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyErr_Format(PyExc_TypeError, "%s must be a writable C-contiguous array", name);
        return -1;
    }
    const char* fmt = view->format ? view->format : "B";
    if (*fmt == '<' || *fmt == '=' || *fmt == '@') fmt++;
    char got = *fmt;
    int kind_ok = kind == 'b' ? (got == '?' || got == 'B' || got == 'b') : (kind == 'i' ? (got == 'i' || got == 'l') : got == kind);
    if (view->itemsize != itemsize || !kind_ok || view->len != itemsize * count) {
        PyErr_Format(PyExc_ValueError, "%s has the wrong dtype or size (format '%s', itemsize %zd, %zd bytes; expected %zd items of %zd bytes)",
                     name, view->format ? view->format : "B", view->itemsize, view->len, count, itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject* py_vec_init(PyObject* self, PyObject* args) {
    PyObject *obs, *actions, *rewards, *terminals, *truncations, *config;
    int num_envs;
    if (!PyArg_ParseTuple(args, "OOOOOOi", &obs, &actions, &rewards, &terminals, &truncations, &config, &num_envs))
        return NULL;
    if (num_envs < 1) return PyErr_Format(PyExc_ValueError, "num_envs must be >= 1, got %d", num_envs);
    Py_buffer cfg_view;
    if (PyObject_GetBuffer(config, &cfg_view, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    if (cfg_view.len != (Py_ssize_t)(N_CONFIG * sizeof(double))) {
        PyBuffer_Release(&cfg_view);
        return PyErr_Format(PyExc_ValueError, "config must hold %d float64 values", N_CONFIG);
    }
    Vec* vec = calloc(1, sizeof(Vec));
    if (vec == NULL) { PyBuffer_Release(&cfg_view); return PyErr_NoMemory(); }
    config_init(&vec->cfg, (const double*)cfg_view.buf);
    PyBuffer_Release(&cfg_view);
    vec->num_envs = num_envs;
    vec->envs = calloc((size_t)num_envs, sizeof(Prospector));
    if (vec->envs == NULL) { free(vec); return PyErr_NoMemory(); }
    if (get_buffer(obs, &vec->obs, "observations", 4, 'f', (Py_ssize_t)num_envs * OBS_DIM) < 0) goto fail;
    if (get_buffer(actions, &vec->actions, "actions", 4, 'i', num_envs) < 0) goto fail;
    if (get_buffer(rewards, &vec->rewards, "rewards", 4, 'f', num_envs) < 0) goto fail;
    if (get_buffer(terminals, &vec->terminals, "terminals", 1, 'b', num_envs) < 0) goto fail;
    if (get_buffer(truncations, &vec->truncations, "truncations", 1, 'b', num_envs) < 0) goto fail;
    for (int i = 0; i < num_envs; i++) {
        vec->envs[i].cfg = &vec->cfg;
        vec->envs[i].obs = (float*)vec->obs.buf + (size_t)i * OBS_DIM;
        vec->envs[i].done = 1;
    }
    return PyCapsule_New(vec, CAPSULE, vec_free);
fail:
    PyBuffer_Release(&vec->obs);
    PyBuffer_Release(&vec->actions);
    PyBuffer_Release(&vec->rewards);
    PyBuffer_Release(&vec->terminals);
    free(vec->envs);
    free(vec);
    return NULL;
}

/* Reset every env: env i gets the i-th SplitMix64 output of `seed`. */
static PyObject* py_vec_reset(PyObject* self, PyObject* args) {
    PyObject* capsule;
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "OK", &capsule, &seed)) return NULL;
    Vec* vec = get_vec(capsule);
    if (vec == NULL) return NULL;
    uint64_t state = seed;
    unsigned char* term = vec->terminals.buf;
    unsigned char* trunc = vec->truncations.buf;
    float* rew = vec->rewards.buf;
    for (int i = 0; i < vec->num_envs; i++) {
        c_reset(&vec->envs[i], splitmix64(&state));
        term[i] = 0; trunc[i] = 0; rew[i] = 0.0f;
    }
    Py_RETURN_NONE;
}

/* Step all envs with the actions buffer; finished games write a log row and restart
 * with the next seed of their own stream.  Returns the number of rows written. */
static PyObject* py_vec_step(PyObject* self, PyObject* args) {
    PyObject *capsule, *log;
    if (!PyArg_ParseTuple(args, "OO", &capsule, &log)) return NULL;
    Vec* vec = get_vec(capsule);
    if (vec == NULL) return NULL;
    Py_buffer log_view;
    if (get_buffer(log, &log_view, "episode log", 8, 'd', (Py_ssize_t)vec->num_envs * LOG_WIDTH) < 0) return NULL;
    const int* actions = vec->actions.buf;
    float* rewards = vec->rewards.buf;
    unsigned char* term = vec->terminals.buf;
    unsigned char* trunc = vec->truncations.buf;
    double* rows = log_view.buf;
    int finished = 0;
    Py_BEGIN_ALLOW_THREADS
    for (int i = 0; i < vec->num_envs; i++) {
        Prospector* env = &vec->envs[i];
        if (i + 1 < vec->num_envs) { /* the next game's hot state, while this one steps */
            const Prospector* next = &vec->envs[i + 1];
            __builtin_prefetch(&next->fuel);
            __builtin_prefetch(&next->nodes[next->node]);
            __builtin_prefetch(&next->price);
        }
        c_step(env, actions[i]);
        rewards[i] = (float)env->reward;
        term[i] = (unsigned char)env->terminated;
        trunc[i] = (unsigned char)env->truncated;
        if (env->done) {
            double* row = rows + (size_t)finished * LOG_WIDTH;
            compute_info(env);
            memcpy(row, env->info, sizeof(env->info));
            row[LOG_END_REASON] = (double)env->end_reason;
            row[LOG_RETURN] = env->episode_return;
            row[LOG_LENGTH] = (double)env->episode_steps;
            finished++;
            c_reset(env, rng_u64(&env->rng));
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&log_view);
    return PyLong_FromLong(finished);
}

/* ---------------------------------------------------- single-env access */
static Prospector* get_env(PyObject* args, int* index_out, PyObject** rest) {
    PyObject* capsule;
    int i;
    if (!PyArg_ParseTuple(args, "Oi|O", &capsule, &i, rest)) return NULL;
    Vec* vec = get_vec(capsule);
    if (vec == NULL) return NULL;
    if (i < 0 || i >= vec->num_envs) {
        PyErr_Format(PyExc_IndexError, "env index %d outside 0..%d", i, vec->num_envs - 1);
        return NULL;
    }
    if (index_out) *index_out = i;
    return &vec->envs[i];
}

static PyObject* py_env_reset(PyObject* self, PyObject* args) {
    PyObject* seed = NULL;
    Prospector* env = get_env(args, NULL, &seed);
    if (env == NULL) return NULL;
    if (seed == NULL || seed == Py_None) return PyErr_Format(PyExc_TypeError, "env_reset needs a seed");
    unsigned long long s = PyLong_AsUnsignedLongLongMask(seed);
    if (PyErr_Occurred()) return NULL;
    c_reset(env, s);
    Py_RETURN_NONE;
}

/* Continue into the next episode with the seed drawn from the finished one's stream. */
static PyObject* py_env_next_seed(PyObject* self, PyObject* args) {
    PyObject* unused = NULL;
    Prospector* env = get_env(args, NULL, &unused);
    if (env == NULL) return NULL;
    return PyLong_FromUnsignedLongLong(rng_u64(&env->rng));
}

static PyObject* py_env_step(PyObject* self, PyObject* args) {
    PyObject* action_obj = NULL;
    Prospector* env = get_env(args, NULL, &action_obj);
    if (env == NULL) return NULL;
    if (action_obj == NULL) return PyErr_Format(PyExc_TypeError, "env_step needs an action");
    long action = PyLong_AsLong(action_obj);
    if (PyErr_Occurred()) return NULL;
    if (env->done) return PyErr_Format(PyExc_RuntimeError, "step() called after the episode ended; call reset() first");
    if (action < INT32_MIN || action > INT32_MAX) action = -1;
    c_step(env, (int)action);
    return Py_BuildValue("(dOO)", env->reward, env->terminated ? Py_True : Py_False,
                         env->truncated ? Py_True : Py_False);
}

static PyObject* py_env_info(PyObject* self, PyObject* args) {
    PyObject* unused = NULL;
    Prospector* env = get_env(args, NULL, &unused);
    if (env == NULL) return NULL;
    compute_info(env);
    PyObject* values = PyList_New(N_INFO);
    for (int k = 0; k < N_INFO; k++) PyList_SET_ITEM(values, k, PyFloat_FromDouble(env->info[k]));
    PyObject* events = PyList_New(env->n_events);
    for (int e = 0; e < env->n_events; e++) {
        Event* ev = &env->events[e];
        PyList_SET_ITEM(events, e, Py_BuildValue("(iiiddd)", ev->type, ev->a, ev->b, ev->x, ev->y, ev->z));
    }
    return Py_BuildValue("(NiN)", values, env->end_reason, events);
}

static PyObject* py_env_action_mask(PyObject* self, PyObject* args) {
    PyObject* unused = NULL;
    Prospector* env = get_env(args, NULL, &unused);
    if (env == NULL) return NULL;
    PyObject* mask = PyBytes_FromStringAndSize(NULL, N_ACTIONS);
    if (mask == NULL) return NULL;
    char* m = PyBytes_AS_STRING(mask);
    for (int a = 0; a < N_ACTIONS; a++) m[a] = (char)is_valid(env, a);
    return mask;
}

/* ------------------------------------------------------------ snapshot */
static PyObject* doubles(const double* v, int n) {
    PyObject* list = PyList_New(n);
    for (int i = 0; i < n; i++) PyList_SET_ITEM(list, i, PyFloat_FromDouble(v[i]));
    return list;
}

static PyObject* ints(const int* v, int n) {
    PyObject* list = PyList_New(n);
    for (int i = 0; i < n; i++) PyList_SET_ITEM(list, i, PyLong_FromLong(v[i]));
    return list;
}

static int set_item(PyObject* dict, const char* key, PyObject* value) {
    if (value == NULL) return -1;
    int rc = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return rc;
}

#define SET(d, key, value) if (set_item(d, key, value) < 0) goto fail
#define SETD(d, key, v) SET(d, key, PyFloat_FromDouble(v))
#define SETI(d, key, v) SET(d, key, PyLong_FromLong(v))
#define SETB(d, key, v) SET(d, key, PyBool_FromLong(v))

static PyObject* asteroid_dict(const Asteroid* a) {
    PyObject* d = PyDict_New();
    if (d == NULL) return NULL;
    SET(d, "comp", doubles(a->comp, N_COMMODITIES));
    SETD(d, "richness", a->richness);
    SETD(d, "stability", a->stability);
    SETD(d, "noise", a->noise);
    SETD(d, "capacity", a->capacity);
    SETD(d, "depletion", a->depletion);
    SET(d, "comp_est", doubles(a->comp_est, N_COMMODITIES));
    SETD(d, "stability_est", a->stability_est);
    SETD(d, "scan_conf", a->scan_conf);
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

static PyObject* node_dict(const Node* n, const Asteroid* rocks, int with_asteroids) {
    PyObject* d = PyDict_New();
    if (d == NULL) return NULL;
    SETI(d, "type", n->type);
    SETD(d, "pirate", n->pirate);
    SETD(d, "hazard", n->hazard);
    SETD(d, "richness", n->richness);
    SET(d, "neighbors", ints(n->neighbors, n->degree));
    SET(d, "edge_time", ints(n->edge_time, n->degree));
    SET(d, "edge_fuel", doubles(n->edge_fuel, n->degree));
    SETI(d, "dist", n->dist);
    SETB(d, "generated", n->generated);
    SETD(d, "threat_est", n->threat_est);
    int count = with_asteroids ? n->n_asteroids : 0;
    PyObject* list = PyList_New(count);
    if (list == NULL) goto fail;
    for (int a = 0; a < count; a++) {
        PyObject* rock = asteroid_dict(&rocks[a]);
        if (rock == NULL) { Py_DECREF(list); goto fail; }
        PyList_SET_ITEM(list, a, rock);
    }
    SET(d, "asteroids", list);
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

static const char* const END_NAMES[] = {"destroyed", "stranded", "cash_out", "timeout"};

/* The whole state as plain data, in the layout of state.snapshot_reference().
   env_snapshot(handle, i, here_only=False): with here_only, only the current node
   lists its asteroids (all render_state and truth_state read; ~5x cheaper). */
static PyObject* py_env_snapshot(PyObject* self, PyObject* args) {
    PyObject* here_only_arg = NULL;
    Prospector* env = get_env(args, NULL, &here_only_arg);
    if (env == NULL) return NULL;
    int here_only = here_only_arg ? PyObject_IsTrue(here_only_arg) : 0;
    if (here_only < 0) return NULL;
    PyObject *d = PyDict_New(), *market = NULL, *stats = NULL, *nodes = NULL;
    if (d == NULL) return NULL;
    SET(d, "episode_seed", PyLong_FromUnsignedLongLong(env->episode_seed));
    SETI(d, "time_max", env->time_max);
    SETI(d, "time_remaining", env->time_remaining);
    SETD(d, "fuel", env->fuel);
    SETD(d, "hull", env->hull);
    SETD(d, "heat", env->heat);
    SETD(d, "tool", env->tool);
    SETD(d, "alert", env->alert);
    SETD(d, "credits", env->credits);
    SETD(d, "start_credits", env->start_credits);
    SETI(d, "kits", env->kits);
    SETI(d, "stabilizers", env->stabilizers);
    SETI(d, "decoys", env->decoys);
    SETB(d, "docked", env->docked);
    SETI(d, "node", env->node);
    SETI(d, "selected", env->selected);
    SETI(d, "escape_ticks", env->escape_ticks);
    SETI(d, "stab_node", env->stab_node);
    SETI(d, "stab_asteroid", env->stab_asteroid);
    SETI(d, "stab_ticks", env->stab_ticks);
    SET(d, "raw", doubles(env->raw, N_COMMODITIES));
    SET(d, "refined", doubles(env->refined, N_COMMODITIES));
    SETD(d, "cargo_volume", cargo_volume(env));
    SETD(d, "fuel_multiplier", fuel_multiplier(env));
    SETB(d, "done", env->done);
    if (env->end_reason >= 0) { SET(d, "end_reason", PyUnicode_FromString(END_NAMES[env->end_reason])); }
    else if (PyDict_SetItemString(d, "end_reason", Py_None) < 0) goto fail;

    market = PyDict_New();
    if (market == NULL) goto fail;
    SET(market, "p0", doubles(env->p0, N_COMMODITIES));
    SET(market, "price_min", doubles(env->price_min, N_COMMODITIES));
    SET(market, "price_max", doubles(env->price_max, N_COMMODITIES));
    SET(market, "period", doubles(env->period, N_COMMODITIES));
    SET(market, "phase", doubles(env->phase, N_COMMODITIES));
    SET(market, "amplitude", doubles(env->amplitude, N_COMMODITIES));
    SET(market, "inventory", doubles(env->inventory, N_COMMODITIES));
    SET(market, "inventory_start", doubles(env->inventory_start, N_COMMODITIES));
    SET(market, "recent_sales", doubles(env->recent_sales, N_COMMODITIES));
    SET(market, "shock", doubles(env->shock, N_COMMODITIES));
    SET(market, "price", doubles(env->price, N_COMMODITIES));
    SET(market, "prev_price", doubles(env->prev_price, N_COMMODITIES));
    SET(market, "cycle_sin", doubles(env->cycle_sin, N_COMMODITIES));
    SET(market, "cycle_cos", doubles(env->cycle_cos, N_COMMODITIES));
    SET(market, "turn_sin", doubles(env->turn_sin, N_COMMODITIES));
    SET(market, "turn_cos", doubles(env->turn_cos, N_COMMODITIES));
    SET(d, "market", market);
    market = NULL;

    stats = PyDict_New();
    if (stats == NULL) goto fail;
    SETI(stats, "overheat_ticks", env->overheat_ticks);
    SETI(stats, "pirate_encounters", env->pirate_encounters);
    SETD(stats, "value_lost", env->value_lost);
    SETD(stats, "fuel_used", env->fuel_used);
    SETD(stats, "hull_damage", env->hull_damage);
    SETD(stats, "tool_wear", env->tool_wear);
    SETI(stats, "scan_count", env->scan_count);
    SETI(stats, "mining_ticks", env->mining_ticks);
    SETD(stats, "cargo_ticks", env->cargo_ticks);
    SET(d, "stats", stats);
    stats = NULL;

    nodes = PyList_New(env->node_count);
    if (nodes == NULL) goto fail;
    for (int i = 0; i < env->node_count; i++) {
        PyObject* node = node_dict(&env->nodes[i], env->rocks[i], !here_only || i == env->node);
        if (node == NULL) goto fail;
        PyList_SET_ITEM(nodes, i, node);
    }
    SET(d, "nodes", nodes);
    return d;
fail:
    Py_XDECREF(nodes);
    Py_DECREF(d);
    return NULL;
}

/* --------------------------------------------------- interface export */
static PyObject* py_interface(PyObject* self, PyObject* noargs) {
    PyObject* names = PyList_New(N_CONFIG);
    for (int i = 0; i < N_CONFIG; i++) PyList_SET_ITEM(names, i, PyUnicode_FromString(CONFIG_NAMES[i]));
    PyObject* defaults = doubles(CONFIG_DEFAULTS, N_CONFIG);
    return Py_BuildValue(
        "{s:N,s:N,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:i,s:d,s:K,s:i,s:i,s:i,"
        "s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:i,s:i,s:n}",
        "config_names", names, "config_defaults", defaults,
        "N_COMMODITIES", N_COMMODITIES, "MAX_NODES", MAX_NODES, "MAX_NEIGHBORS", MAX_NEIGHBORS,
        "MAX_ASTEROIDS", MAX_ASTEROIDS, "OBS_DIM", OBS_DIM, "N_ACTIONS", N_ACTIONS, "ITEM_CAP", ITEM_CAP,
        "FUEL_MAX", FUEL_MAX, "HULL_MAX", HULL_MAX, "HEAT_MAX", HEAT_MAX, "TOOL_MAX", TOOL_MAX,
        "CARGO_MAX", CARGO_MAX, "ALERT_MAX", ALERT_MAX, "CREDIT_SCALE", CREDIT_SCALE,
        "CREDITS_CAP", CREDITS_CAP, "MAX_EVENTS", MAX_EVENTS, "UNKNOWN_THREAT", UNKNOWN_THREAT,
        "RNG_SEQ", (unsigned long long)RNG_SEQ, "N_INFO", N_INFO, "N_EVENT_TYPES", N_EVENT_TYPES,
        "LOG_WIDTH", LOG_WIDTH,
        "R_EXTRACT", R_EXTRACT, "R_FUEL", R_FUEL, "R_TIME", R_TIME, "R_WEAR", R_WEAR,
        "R_DAMAGE", R_DAMAGE, "R_HEAT", R_HEAT, "R_HEAT_THRESHOLD", R_HEAT_THRESHOLD,
        "R_SCAN", R_SCAN, "R_INVALID", R_INVALID, "R_PIRATE", R_PIRATE, "R_STRANDED", R_STRANDED,
        "R_DESTROYED", R_DESTROYED, "R_FINAL_CREDITS", R_FINAL_CREDITS,
        "TRAVEL_TIME_NORM", TRAVEL_TIME_NORM, "FUEL_COST_NORM", FUEL_COST_NORM,
        "O_PRICE", (int)O_PRICE, "ASTEROID_BASE", (int)ASTEROID_BASE,
        "sizeof_env", (Py_ssize_t)sizeof(Prospector));
}

static PyMethodDef METHODS[] = {
    {"vec_init", py_vec_init, METH_VARARGS, "vec_init(obs, actions, rewards, terminals, truncations, config, num_envs)"},
    {"vec_reset", py_vec_reset, METH_VARARGS, "vec_reset(handle, seed)"},
    {"vec_step", py_vec_step, METH_VARARGS, "vec_step(handle, episode_log) -> finished episodes"},
    {"env_reset", py_env_reset, METH_VARARGS, "env_reset(handle, i, seed)"},
    {"env_next_seed", py_env_next_seed, METH_VARARGS, "env_next_seed(handle, i) -> next episode seed"},
    {"env_step", py_env_step, METH_VARARGS, "env_step(handle, i, action) -> (reward, terminated, truncated)"},
    {"env_info", py_env_info, METH_VARARGS, "env_info(handle, i) -> (info values, end reason, events)"},
    {"env_action_mask", py_env_action_mask, METH_VARARGS, "env_action_mask(handle, i) -> bytes[69]"},
    {"env_snapshot", py_env_snapshot, METH_VARARGS, "env_snapshot(handle, i, here_only=False) -> dict"},
    {"interface", py_interface, METH_NOARGS, "constants and default config of the C core"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "prospector._core", NULL, -1, METHODS};

PyMODINIT_FUNC PyInit__core(void) { return PyModule_Create(&MODULE); }
