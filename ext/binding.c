/* CPython binding of the simulation core: thin, like PufferLib's Ocean bindings.
 *
 * A handle (capsule) owns N Prospector structs whose obs pointers point into a
 * numpy float32 [N, 260] buffer owned by Python.  vec_step() steps all of them in
 * one call, auto-resets finished games and writes one log row per finished episode.
 * The single-game env uses the same handle with N = 1 and the env_* functions.
 *
 * Threads (docs/envs.md#threads): a handle made with T > 1 threads splits its games
 * into T contiguous slices, always the same ones, and vec_step() steps slice 0 on
 * the calling thread and the others on T - 1 POSIX threads, with the GIL released.
 * Games never touch each other (the config is read-only), so every thread count
 * gives the same bits.  The workers start on the first threaded step, sleep on a
 * condition variable between steps, and are joined when the handle is freed.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "prospector.h"

/* log row per finished episode: the N_INFO info values, then these */
enum { LOG_END_REASON = N_INFO, LOG_RETURN, LOG_LENGTH, LOG_WIDTH };

struct Vec;

/* One thread's share of the games. */
typedef struct {
    struct Vec* vec;          /* the batch this slice belongs to */
    int begin, end;           /* its games: [begin, end), fixed for the handle's life */
    int finished;             /* episodes that ended in this slice during the last step */
    unsigned long seen;       /* the last step generation this slice's worker ran */
    pthread_t thread;         /* the worker stepping it (unused for slice 0: the caller's) */
} Slice;

typedef struct Vec {
    int num_envs;
    Config cfg;
    Prospector* envs;
    Py_buffer obs, actions, rewards, terminals, truncations;

    int num_threads;          /* slices, one per thread (1: the caller steps every game) */
    Slice* slices;            /* num_threads slices, in game order */
    double* rows;             /* the step in flight: episode log (slice s writes from row `begin`) */
    float* final_obs;         /* the step in flight: terminal observations [N, OBS_DIM], or NULL */
    pthread_mutex_t lock;     /* guards generation, running and stopping */
    pthread_cond_t wake;      /* workers sleep here until the next step or the end */
    pthread_cond_t idle;      /* the caller sleeps here until every worker is done */
    unsigned long generation; /* counts threaded steps; a new value wakes the workers */
    int running;              /* workers still stepping the current generation */
    int stopping;             /* the handle is being freed: workers return */
    pid_t owner;              /* process whose workers are running (0: none started) */
    int stepping;             /* a vec_step is in flight (it releases the GIL): refuse a second */
} Vec;

static const char* CAPSULE = "prospector.Vec";

/* Steps games [begin, end) with the actions buffer.  A finished game writes its log
 * row (from `rows` on, in game order) and, when final_obs is given, its terminal
 * observation at its own index; then it restarts at once with the next seed of its
 * own stream.  Returns the number of rows written. */
static int step_games(Vec* vec, int begin, int end, double* rows, float* final_obs) {
    const int* actions = vec->actions.buf;
    float* rewards = vec->rewards.buf;
    unsigned char* term = vec->terminals.buf;
    unsigned char* trunc = vec->truncations.buf;
    int finished = 0;
    for (int i = begin; i < end; i++) {
        Prospector* env = &vec->envs[i];
        if (i + 1 < end) { /* the next game's hot state, while this one steps */
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
            if (final_obs != NULL) memcpy(final_obs + (size_t)i * OBS_DIM, env->obs, OBS_DIM * sizeof(float));
            finished++;
            c_reset(env, rng_u64(&env->rng));
        }
    }
    return finished;
}

/* A slice writes its rows from row `begin` on: it can finish at most one episode per game. */
static void step_slice(Slice* slice) {
    Vec* vec = slice->vec;
    slice->finished = step_games(vec, slice->begin, slice->end, vec->rows + (size_t)slice->begin * LOG_WIDTH,
                                 vec->final_obs);
}

static void* worker_main(void* arg) {
    Slice* slice = arg;
    Vec* vec = slice->vec;
    pthread_mutex_lock(&vec->lock);
    for (;;) {
        while (!vec->stopping && vec->generation == slice->seen) pthread_cond_wait(&vec->wake, &vec->lock);
        if (vec->stopping) break;
        slice->seen = vec->generation;
        pthread_mutex_unlock(&vec->lock);
        step_slice(slice);
        pthread_mutex_lock(&vec->lock);
        if (--vec->running == 0) pthread_cond_signal(&vec->idle);
    }
    pthread_mutex_unlock(&vec->lock);
    return NULL;
}

/* Wakes workers 1..count-1 to return, and joins them. */
static void join_workers(Vec* vec, int count) {
    pthread_mutex_lock(&vec->lock);
    vec->stopping = 1;
    pthread_cond_broadcast(&vec->wake);
    pthread_mutex_unlock(&vec->lock);
    for (int s = 1; s < count; s++) pthread_join(vec->slices[s].thread, NULL);
    vec->stopping = 0;
}

/* Starts the workers of this process (once; again in a child after fork(), where the
 * parent's threads do not exist).  Returns 0, or the pthread error. */
static int start_workers(Vec* vec) {
    pid_t self = getpid();
    if (vec->owner == self) return 0;
    if (vec->owner != 0) { /* forked: the parent's lock state means nothing here */
        pthread_mutex_init(&vec->lock, NULL);
        pthread_cond_init(&vec->wake, NULL);
        pthread_cond_init(&vec->idle, NULL);
        vec->running = 0;
        vec->stopping = 0;
        vec->owner = 0;
    }
    /* signals stay with Python's threads: the workers block them all */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int s, rc = 0;
    for (s = 1; s < vec->num_threads; s++) {
        vec->slices[s].seen = vec->generation;
        rc = pthread_create(&vec->slices[s].thread, NULL, worker_main, &vec->slices[s]);
        if (rc != 0) break;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        join_workers(vec, s);
        return rc;
    }
    vec->owner = self;
    return 0;
}

/* One step of every game on all threads; returns the rows written, in game order. */
static int step_threaded(Vec* vec) {
    pthread_mutex_lock(&vec->lock);
    vec->running = vec->num_threads - 1;
    vec->generation++;
    pthread_cond_broadcast(&vec->wake);
    pthread_mutex_unlock(&vec->lock);
    step_slice(&vec->slices[0]);
    pthread_mutex_lock(&vec->lock);
    while (vec->running > 0) pthread_cond_wait(&vec->idle, &vec->lock);
    pthread_mutex_unlock(&vec->lock);
    /* the log in one thread's order: each slice's rows follow the previous slice's */
    int finished = vec->slices[0].finished;
    for (int s = 1; s < vec->num_threads; s++) {
        const Slice* slice = &vec->slices[s];
        if (slice->finished > 0 && finished != slice->begin)
            memmove(vec->rows + (size_t)finished * LOG_WIDTH, vec->rows + (size_t)slice->begin * LOG_WIDTH,
                    (size_t)slice->finished * LOG_WIDTH * sizeof(double));
        finished += slice->finished;
    }
    return finished;
}

static void vec_release(Vec* vec) {
    PyBuffer_Release(&vec->obs);
    PyBuffer_Release(&vec->actions);
    PyBuffer_Release(&vec->rewards);
    PyBuffer_Release(&vec->terminals);
    PyBuffer_Release(&vec->truncations);
    pthread_mutex_destroy(&vec->lock);
    pthread_cond_destroy(&vec->wake);
    pthread_cond_destroy(&vec->idle);
    free(vec->slices);
    free(vec->envs);
    free(vec);
}

static void vec_free(PyObject* capsule) {
    Vec* vec = (Vec*)PyCapsule_GetPointer(capsule, CAPSULE);
    if (vec == NULL) return;
    /* the workers sleep between steps; wake them to return (a forked child has none to join) */
    if (vec->owner == getpid()) join_workers(vec, vec->num_threads);
    vec_release(vec);
}

static Vec* get_vec(PyObject* capsule) { return (Vec*)PyCapsule_GetPointer(capsule, CAPSULE); }

/* A writable C-contiguous buffer of `count` items of `itemsize` bytes, or a clear error. */
static int get_buffer(PyObject* obj, Py_buffer* view, const char* name, Py_ssize_t itemsize,
                      char kind, Py_ssize_t count) {
    if (PyObject_GetBuffer(obj, view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        view->obj = NULL; /* nothing to release */
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
    int num_envs, threads = 1;
    if (!PyArg_ParseTuple(args, "OOOOOOi|i", &obs, &actions, &rewards, &terminals, &truncations, &config, &num_envs,
                          &threads))
        return NULL;
    if (num_envs < 1) return PyErr_Format(PyExc_ValueError, "num_envs must be >= 1, got %d", num_envs);
    if (threads < 1) return PyErr_Format(PyExc_ValueError, "threads must be >= 1, got %d", threads);
    if (threads > num_envs) threads = num_envs; /* no empty slices */
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
    vec->num_threads = threads;
    pthread_mutex_init(&vec->lock, NULL);
    pthread_cond_init(&vec->wake, NULL);
    pthread_cond_init(&vec->idle, NULL);
    vec->envs = calloc((size_t)num_envs, sizeof(Prospector));
    vec->slices = calloc((size_t)threads, sizeof(Slice));
    if (vec->envs == NULL || vec->slices == NULL) { vec_release(vec); return PyErr_NoMemory(); }
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
    for (int s = 0; s < threads; s++) { /* contiguous, balanced, fixed */
        vec->slices[s].vec = vec;
        vec->slices[s].begin = (int)((long long)num_envs * s / threads);
        vec->slices[s].end = (int)((long long)num_envs * (s + 1) / threads);
    }
    return PyCapsule_New(vec, CAPSULE, vec_free);
fail:
    vec_release(vec); /* releasing a buffer never acquired is a no-op (its obj is NULL) */
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
 * with the next seed of their own stream.  With final_obs (float32 [N, OBS_DIM]), a
 * finished game also leaves its terminal observation in its row there.  Returns the
 * number of log rows written. */
static PyObject* py_vec_step(PyObject* self, PyObject* args) {
    PyObject *capsule, *log, *final_obs = Py_None;
    if (!PyArg_ParseTuple(args, "OO|O", &capsule, &log, &final_obs)) return NULL;
    Vec* vec = get_vec(capsule);
    if (vec == NULL) return NULL;
    if (vec->stepping)
        return PyErr_Format(PyExc_RuntimeError, "vec_step: this batch is already stepping in another thread");
    Py_buffer log_view, final_view = {0};
    if (get_buffer(log, &log_view, "episode log", 8, 'd', (Py_ssize_t)vec->num_envs * LOG_WIDTH) < 0) return NULL;
    if (final_obs != Py_None && get_buffer(final_obs, &final_view, "final observations", 4, 'f',
                                           (Py_ssize_t)vec->num_envs * OBS_DIM) < 0) {
        PyBuffer_Release(&log_view);
        return NULL;
    }
    if (vec->num_threads > 1) {
        int rc = start_workers(vec);
        if (rc != 0) {
            PyBuffer_Release(&log_view);
            PyBuffer_Release(&final_view);
            return PyErr_Format(PyExc_RuntimeError, "could not start %d stepping threads: %s", vec->num_threads - 1,
                                strerror(rc));
        }
    }
    vec->rows = log_view.buf;
    vec->final_obs = final_obs != Py_None ? final_view.buf : NULL;
    int finished;
    vec->stepping = 1;
    Py_BEGIN_ALLOW_THREADS
    if (vec->num_threads > 1) finished = step_threaded(vec);
    else finished = step_games(vec, 0, vec->num_envs, vec->rows, vec->final_obs);
    Py_END_ALLOW_THREADS
    vec->stepping = 0;
    vec->rows = NULL;
    vec->final_obs = NULL;
    PyBuffer_Release(&log_view);
    PyBuffer_Release(&final_view);
    return PyLong_FromLong(finished);
}

/* The number of stepping threads of a handle (threads asked for, at most one per game). */
static PyObject* py_vec_threads(PyObject* self, PyObject* args) {
    PyObject* capsule;
    if (!PyArg_ParseTuple(args, "O", &capsule)) return NULL;
    Vec* vec = get_vec(capsule);
    if (vec == NULL) return NULL;
    return PyLong_FromLong(vec->num_threads);
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
    {"vec_init", py_vec_init, METH_VARARGS,
     "vec_init(obs, actions, rewards, terminals, truncations, config, num_envs, threads=1)"},
    {"vec_reset", py_vec_reset, METH_VARARGS, "vec_reset(handle, seed)"},
    {"vec_step", py_vec_step, METH_VARARGS, "vec_step(handle, episode_log, final_obs=None) -> finished episodes"},
    {"vec_threads", py_vec_threads, METH_VARARGS, "vec_threads(handle) -> stepping threads"},
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
