"""Baseline bots of docs/balance.md, as policies of the observation only.

    bot = make_bot("greedy_miner", num_envs=1024)
    actions = bot.act(obs)          # obs float32 [N, 260] -> int32 actions [N]
    action = bot.act(obs[0])        # with num_envs=1: obs (260,) -> python int
    bot.reset(mask)                 # forget what the envs where mask is True remember

A bot sees exactly what a learning agent sees: the observation vector.  It may
remember earlier observations of the same episode, nothing else (no env
internals, no hidden truth).  A bot also notices a new episode by itself (the
first observation of an episode is the only one with time_frac == 1), so
``reset`` is a courtesy, not a requirement.

Navigation memory.  The observation names the current node (obs[22] * 31) and its
hop count to the station, but a neighbour slot shows only the neighbour's type,
travel time, fuel cost and threat estimate, never which node it leads to.  So
every scripted bot keeps, per env, a map of what it has seen:

* ``edge_dest[node, slot]``: the node a slot leads to, once known.  A slot is
  known after travelling it; its way back is then recognised at the arrival node
  as the slot with the same travel time, the same base fuel cost (the fuel cost
  divided by the cargo mass factor 1 + 0.5 * cargo_load_frac) and the departure
  node's type (edges are undirected, so both ends show the same numbers).  A
  station-type slot always leads to node 0.  A wrong guess (two identical-looking
  slots) is corrected the first time it is travelled, and the look-alike slot is
  then taken as the way back instead.
* ``home_cost / home_next / home_time``: shortest known way to the station
  (Dijkstra over the known edges, base fuel as the weight), recomputed whenever
  the map changes.  Because the bot only ever reaches a node over an edge whose
  way back it has recognised, every node it stands on has a known way home.

Trips start at the station: the bot picks the nearest known node that still has
minable asteroids (depletion below 85 %), or else the cheapest unexplored slot of an
allowed type (clusters), checks fuel and time for the round trip (buying fuel first
when needed; a new edge's way back may be one of two look-alike slots, so a detour
is reserved for it, and a guessed edge counts three times its fuel in the way home)
and follows the
route; when its node runs dry it tries an unexplored neighbour, then goes home.
Once everything within reach is mined to 85 % it settles for the leftovers (97 %),
and greedy_miner / market_timer then also mine hazard nodes.

The three scripted bots differ only in parameters and a few rules:

* ``greedy_miner``: no scans; mines the best estimated asteroid aggressively
  while heat <= 70 % (heat_safe: full yield) and tool > 60 % (ACTIVE_COOLDOWN when
  hot, a repair kit or standard mining when the tool is worn); goes home at cargo >
  85 %, heat > 80 %, hull < 40 %, when the fuel left would not safely cover the way
  home (1.5 x its base fuel + 30), or when the episode is about to end; docks, sells
  100 % of everything, buys fuel when below 40 % (or when the next trip needs it),
  overhauls when worn, keeps 2 repair kits.
* ``cautious_scanner``: THREAT_LISTEN on every node with unknown neighbour
  threats and avoids neighbours with threat > 0.3 (unless nothing else is left);
  WIDE_SCAN while the mean scan confidence of the minable asteroids is below 0.35
  (0.34 in the code: the wide-scan cap 0.35 reads back as 0.3499999 in float32),
  DEEP_SCAN the top candidate while its confidence is below 0.6, STABILIZE it when
  its stability estimate is below 0.45, mines conservatively, waits (HOLD) when
  alert > 40 % or heat > 60 %, patches hull and tool with kits, goes home at cargo
  70 % / heat 75 % / hull 55 % (bigger fuel and time margins), sells in 50 %
  buckets, keeps 4 kits, 3 stabilizers and 2 decoys, never mines hazard nodes.
* ``market_timer``: greedy_miner, but docked it sells only commodities whose
  price_norm is above its running mean (an exponential moving average of the
  observed price_norm, 1/100 per step), else HOLDs, at most 60 steps per visit
  (and not at all when the episode is about to end).
* ``random``: uniform over the 69 actions (numpy Generator seeded with ``seed``).

The episode budget is not in the observation (time_frac is relative), so the bots
estimate it from the ticks their own actions took.  CASH_OUT is used only when
docked with an empty hold and no trip is possible any more (no time left for a
round trip, nothing left within reach, or no fuel and no credits to buy it).
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from . import spec as S

BOT_NAMES = ("random", "greedy_miner", "cautious_scanner", "market_timer")

LOG1P_CREDITS_CAP = math.log1p(S.CREDITS_CAP)
_CFG = S.DEFAULT_CONFIG
P0 = np.array([_CFG[f"p0_{k}"] for k in range(S.N_COMMODITIES)], np.float64)
PRICE_MAX = P0 * _CFG["price_max_frac"]
FUEL_AMOUNT = np.array([_CFG[f"fuel_amount_{k}"] for k in range(3)])
FUEL_PRICE = np.array([_CFG[f"fuel_price_{k}"] for k in range(3)])
ACTION_DT = np.array(S.ACTION_DT, np.int64)
INF = math.inf

# per-env bot modes
STATION_MODE, OUT_MODE, WORK_MODE, HOME_MODE = 0, 1, 2, 3
ROUTE_MAX = S.MAX_NODES + 2


class Bot:
    """A policy over a batch of ``num_envs`` observations (see module docstring)."""

    name = "bot"

    def __init__(self, num_envs: int = 1, seed: int = 0):
        if isinstance(num_envs, bool) or int(num_envs) < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        self.num_envs = int(num_envs)
        self.seed = int(seed)
        self._alloc(self.num_envs)

    def act(self, obs):
        """float32 [N, 260] -> int32 [N]; a single (260,) observation -> int."""
        obs = np.asarray(obs, dtype=np.float32)
        if obs.ndim == 1:
            if obs.shape[0] != S.OBS_DIM:
                raise ValueError(f"observation must have shape ({S.OBS_DIM},), got {obs.shape}")
            return int(self._act(obs[None, :])[0])
        if obs.ndim != 2 or obs.shape[1] != S.OBS_DIM:
            raise ValueError(f"observations must have shape (N, {S.OBS_DIM}), got {obs.shape}")
        return self._act(obs)

    def reset(self, mask=None) -> None:
        """Forget everything about the envs where ``mask`` is True (all envs if None)."""
        if mask is None:
            mask = np.ones(self.num_envs, bool)
        mask = np.asarray(mask, bool).reshape(-1)
        if mask.shape[0] != self.num_envs:
            raise ValueError(f"mask must have {self.num_envs} entries, got {mask.shape[0]}")
        if mask.any():
            self._clear(mask)

    # subclasses
    def _alloc(self, n: int) -> None:
        self.num_envs = n

    def _clear(self, mask: np.ndarray) -> None:
        pass

    def _act(self, obs: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class RandomBot(Bot):
    """Uniform over the 69 actions."""

    name = "random"

    def _alloc(self, n: int) -> None:
        self.num_envs = n
        self.rng = np.random.default_rng(self.seed)

    def _act(self, obs: np.ndarray) -> np.ndarray:
        if obs.shape[0] != self.num_envs:
            self.num_envs = obs.shape[0]
        return self.rng.integers(0, S.N_ACTIONS, obs.shape[0]).astype(np.int32)


class ScriptedBot(Bot):
    """The shared machinery of the scripted bots: map memory, trips, station business."""

    name = "scripted"
    # going home
    return_cargo = 0.85
    return_heat = 0.80
    return_hull = 0.40
    fuel_margin = 30.0  # fuel units kept in reserve on top of the way home at full cargo
    time_margin = 25.0  # ticks kept in reserve on top of the travel time home
    # mining
    mine_mode = 2  # aggressive
    worn_mine_mode = 1  # when the tool is worn and no kit is left
    tool_min = 0.60  # mine with mine_mode only above this tool level
    cool_heat = 0.70  # cool down above this heat (70 = heat_safe: full yield, no extra fracture risk)
    cool_action = S.A_COOLDOWN
    alert_hold = 2.0  # HOLD while alert_frac is above (2: never)
    exhaust_dep = 0.85  # asteroids at or above this depletion are not worth mining ...
    exhaust_last = 0.97  # ... until nothing else is left within reach
    hysteresis = 0.7  # keep the selected asteroid while it scores >= this * best
    patch_hull = -1.0  # HULL_PATCH in the field below this hull (with >= 2 kits)
    scans = False
    listen = False
    threat_limit = 1.1  # avoid nodes whose threat estimate is above this
    stabilize_below = -1.0  # STABILIZE the selected asteroid below this stability estimate
    # station
    sell_fraction = 2  # index into SELL_FRACTIONS: 2 = 100 %
    fuel_buy_below = 0.40
    overhaul_hull = 0.70
    overhaul_tool = 0.75
    stock = (2, 0, 0)  # repair kits, stabilizers, decoys to keep
    item_reserve = 250.0  # credits kept back when buying items
    timer_hold = 0  # market_timer: most HOLD steps per station visit
    price_alpha = 0.01
    allowed_types = (S.CLUSTER,)
    last_resort_hazard = True  # mine hazard nodes once every cluster within reach is mined out

    # ----------------------------------------------------------- memory
    def _alloc(self, n: int) -> None:
        self.num_envs = n
        M, K = S.MAX_NODES, S.MAX_NEIGHBORS
        self.rows = np.arange(n)
        self.edge_dest = np.full((n, M, K), -1, np.int8)
        self.edge_sure = np.zeros((n, M, K), bool)  # travelled, station-type or an unambiguous way back
        self.edge_base = np.zeros((n, M, K), np.float32)
        self.edge_time = np.zeros((n, M, K), np.int8)
        self.nbr_type = np.full((n, M, K), -1, np.int8)
        self.nbr_threat = np.full((n, M, K), S.UNKNOWN_THREAT, np.float32)
        self.node_type = np.full((n, M), -1, np.int8)
        self.node_exhausted = np.zeros((n, M), bool)
        self.home_cost = np.full((n, M), INF)
        self.home_time = np.zeros((n, M))
        self.home_next = np.full((n, M), -1, np.int8)
        self.mode = np.zeros(n, np.int8)
        self.last_action = np.full(n, -1, np.int16)
        self.last_node = np.zeros(n, np.int16)
        self.route = np.full((n, ROUTE_MAX), -1, np.int8)
        self.route_nodes = np.full((n, ROUTE_MAX), -1, np.int16)
        self.route_len = np.zeros(n, np.int16)
        self.route_pos = np.zeros(n, np.int16)
        self.elapsed = np.zeros(n)
        self.tmax = np.full(n, float(S.TIME_MAX))
        self.price_mean = np.zeros((n, S.N_COMMODITIES))
        self.price_seen = np.zeros(n, bool)
        self.wait = np.zeros(n, np.int32)
        self.stab_left = np.zeros(n, np.int32)
        self.listened_node = np.full(n, -1, np.int16)
        self.exhaust = np.full(n, self.exhaust_dep)
        self.hazard_ok = np.zeros(n, bool)
        self._clear(np.ones(n, bool))

    def _clear(self, mask: np.ndarray) -> None:
        self.edge_dest[mask] = -1
        self.edge_sure[mask] = False
        self.edge_base[mask] = 0
        self.edge_time[mask] = 0
        self.nbr_type[mask] = -1
        self.nbr_threat[mask] = S.UNKNOWN_THREAT
        self.node_type[mask] = -1
        self.node_exhausted[mask] = False
        self.home_cost[mask] = INF
        self.home_cost[mask, 0] = 0.0
        self.home_time[mask] = 0.0
        self.home_next[mask] = -1
        self.mode[mask] = STATION_MODE
        self.last_action[mask] = -1
        self.last_node[mask] = 0
        self.route[mask] = -1
        self.route_nodes[mask] = -1
        self.route_len[mask] = 0
        self.route_pos[mask] = 0
        self.elapsed[mask] = 0.0
        self.tmax[mask] = float(S.TIME_MAX)
        self.price_mean[mask] = 0.0
        self.price_seen[mask] = False
        self.wait[mask] = 0
        self.stab_left[mask] = 0
        self.listened_node[mask] = -1
        self.exhaust[mask] = self.exhaust_dep
        self.hazard_ok[mask] = False

    # ------------------------------------------------------------- step
    def _act(self, o: np.ndarray) -> np.ndarray:
        n = o.shape[0]
        if n != self.num_envs:
            self._alloc(n)
        rows = self.rows
        tf = o[:, S.O_TIME].astype(np.float64)
        new = tf >= 1.0
        if new.any():
            self._clear(new)

        # --- what the last action cost in ticks: elapsed time and the episode budget
        la = self.last_action.astype(np.int64)
        trav = (la >= 0) & (la < S.A_HOLD)
        dt = np.where(la >= S.A_HOLD, ACTION_DT[np.clip(la, 0, S.N_ACTIONS - 1)], 0)
        if trav.any():
            dt[trav] = self.edge_time[rows[trav], self.last_node[trav], la[trav]]
        self.elapsed += dt
        gone = 1.0 - tf
        ok = (self.elapsed > 0) & (gone > 0)
        self.tmax[ok] = self.elapsed[ok] / gone[ok]
        self.stab_left = np.maximum(0, self.stab_left - dt)

        # --- parse the observation
        node = np.rint(o[:, S.O_NODE_INDEX] * (S.MAX_NODES - 1)).astype(np.intp)
        docked = o[:, S.O_DOCKED] > 0.5
        ntype = np.argmax(o[:, S.O_NODE_TYPE : S.O_NODE_TYPE + 3], axis=1)
        at_station = node == 0
        cargo = o[:, S.O_CARGO]
        mult = 1.0 + _CFG["cargo_mass_fuel"] * cargo.astype(np.float64)
        nb = o[:, S.NEIGHBOR_BASE : S.NEIGHBOR_BASE + S.MAX_NEIGHBORS * S.NEIGHBOR_STRIDE].reshape(
            n, S.MAX_NEIGHBORS, S.NEIGHBOR_STRIDE
        )
        nvalid = nb[:, :, S.N_VALID] > 0.5
        ntyp = np.where(nvalid, np.argmax(nb[:, :, S.N_TYPE : S.N_TYPE + 3], axis=2), -1)
        ntime = np.rint(nb[:, :, S.N_TRAVEL] * S.TRAVEL_TIME_NORM)
        nbase = np.rint(nb[:, :, S.N_FUEL] * S.FUEL_COST_NORM / mult[:, None])
        nthreat = nb[:, :, S.N_THREAT]

        # --- remember the current node and its slots (new arrivals, listens, new episodes)
        fresh = new | (node != self.last_node) | (la == S.A_LISTEN) | (la < 0)
        dirty = np.zeros(n, bool)
        if fresh.any():
            r, nd = rows[fresh], node[fresh]
            self.node_type[r, nd] = ntype[fresh]
            self.edge_time[r, nd] = ntime[fresh]
            self.edge_base[r, nd] = nbase[fresh]
            self.nbr_type[r, nd] = ntyp[fresh]
            self.nbr_threat[r, nd] = nthreat[fresh]
            old = self.edge_dest[r, nd]
            known = np.where(~nvalid[fresh], -1, np.where(ntyp[fresh] == S.STATION, 0, old)).astype(np.int8)
            dirty[fresh] = (known != old).any(axis=1)
            self.edge_dest[r, nd] = known
            self.edge_sure[r, nd] |= ntyp[fresh] == S.STATION

        # --- learn the edge just travelled and recognise its way back
        arrived = trav & ~new & (node != self.last_node)
        if arrived.any():
            r, a, k, b = rows[arrived], self.last_node[arrived], la[arrived], node[arrived]
            settled = (
                (self.edge_dest[r, a, k] == b)
                & self.edge_sure[r, a, k]
                & (self.edge_dest[r, b] == a[:, None]).any(axis=1)
            )
            arrived[r[settled]] = False
        for i in np.flatnonzero(arrived):
            a, k, b = int(self.last_node[i]), int(la[i]), int(node[i])
            guessed = int(self.edge_dest[i, a, k])
            if not self.edge_sure[i, a, k]:
                self.edge_sure[i, a, k] = True
                dirty[i] = True
            if guessed != b:
                self.edge_dest[i, a, k] = b
                dirty[i] = True
                if guessed >= 0:
                    # A wrong guess (two look-alike slots at a): the way back from
                    # `guessed` is the other look-alike; guess again for every node
                    # known to lead to a that a has no known slot back to.
                    for c, j in zip(*np.nonzero(self.edge_dest[i] == a)):
                        if c != a and not (self.edge_dest[i, a] == c).any():
                            self._guess_back(i, int(c), int(j), a)
            if not (self.edge_dest[i, b] == a).any():
                dirty[i] |= self._guess_back(i, a, k, b)
        for i in np.flatnonzero(dirty):
            self._shortest_home(i)
        moved = trav & ~new
        self.listened_node[moved] = -1

        # --- the asteroids of this node
        ast = o[:, S.OBS_ASTEROIDS].reshape(n, S.MAX_ASTEROIDS, S.ASTEROID_STRIDE)
        avalid = ast[:, :, S.A_VALID] > 0.5
        dep = ast[:, :, S.A_DEPLETION]
        conf = ast[:, :, S.A_CONF]
        stab = ast[:, :, S.A_STABILITY]
        sel = ast[:, :, S.A_SELECTED] > 0.5
        good = avalid & (dep < self.exhaust[:, None])
        exhausted_here = (ntype != S.STATION) & ~good.any(axis=1)
        self.node_exhausted[rows, node] = exhausted_here

        price_norm = o[:, S.O_PRICE : S.O_PRICE + S.N_COMMODITIES].astype(np.float64)
        price = price_norm * PRICE_MAX
        unit_value = np.matmul(ast[:, :, S.A_COMP : S.A_COMP + S.N_COMMODITIES], price.astype(np.float32)[:, :, None])[
            :, :, 0
        ]
        score = unit_value * (1.0 - dep)
        if self.stabilize_below > 0:
            score = score * (0.6 + 0.4 * stab)
        score = np.where(good, score, -1.0)
        best = np.argmax(score, axis=1)
        best_score = score[rows, best]
        has_sel = sel.any(axis=1)
        sel_i = np.argmax(sel, axis=1)
        sel_score = np.where(has_sel, score[rows, sel_i], -1.0)
        need_select = (sel_score <= 0) | (sel_score < self.hysteresis * best_score)

        # --- market memory (market_timer)
        first = ~self.price_seen
        self.price_mean[first] = price_norm[first]
        self.price_seen[:] = True
        self.price_mean += self.price_alpha * (price_norm - self.price_mean)

        # --- ship state
        fuel = o[:, S.O_FUEL].astype(np.float64) * S.FUEL_MAX
        hull, heat, tool = o[:, S.O_HULL], o[:, S.O_HEAT], o[:, S.O_TOOL]
        alert = o[:, S.O_ALERT]
        credits = np.expm1(o[:, S.O_CREDITS].astype(np.float64) * LOG1P_CREDITS_CAP)
        cargo_c = o[:, S.O_CARGO_C : S.O_CARGO_C + S.N_COMMODITIES]
        kits = np.rint(o[:, S.O_KITS] * S.ITEM_CAP)
        stabs = np.rint(o[:, S.O_STABILIZERS] * S.ITEM_CAP)
        decoys = np.rint(o[:, S.O_DECOYS] * S.ITEM_CAP)
        mining_ok = (o[:, S.O_MINING] > 0.5) & (cargo < 0.999)
        remaining = tf * self.tmax
        hc = self.home_cost[rows, node]
        ht = self.home_time[rows, node]
        unknown_threat = (nvalid & (nthreat == np.float32(S.UNKNOWN_THREAT))).any(axis=1)
        want_listen = self.listen & unknown_threat & (self.listened_node != node) & ~docked

        must_return = (
            (cargo > self.return_cargo)
            | (heat > self.return_heat)
            | (hull < self.return_hull)
            | ~np.isfinite(hc)
            | (fuel < np.where(np.isfinite(hc), hc, 0.0) * 1.5 + self.fuel_margin)
            | (remaining < np.where(np.isfinite(hc), ht, 0.0) + self.time_margin)
            | ((tool < 0.25) & (kits < 1))
        )

        # --- mode transitions
        mode = self.mode
        mode[(mode == HOME_MODE) & at_station] = STATION_MODE
        mode[(mode == OUT_MODE) & (self.route_pos >= self.route_len)] = WORK_MODE
        pos = np.clip(self.route_pos, 0, ROUTE_MAX - 1)
        mode[(mode == OUT_MODE) & (self.route_nodes[rows, pos] != node)] = HOME_MODE
        mode[((mode == OUT_MODE) | (mode == WORK_MODE)) & must_return & ~at_station] = HOME_MODE
        mode[(mode == WORK_MODE) & at_station] = STATION_MODE
        mode[(mode == STATION_MODE) & ~at_station] = HOME_MODE

        action = np.full(n, S.A_HOLD, np.int64)
        decided = np.zeros(n, bool)

        def put(mask, value):
            m = mask & ~decided
            if m.any():
                action[m] = value[m] if isinstance(value, np.ndarray) else value
                decided[m] = True
            return m

        # --- listening (cautious): once per node visit where some threat is unknown
        lst = put(want_listen & (mode != HOME_MODE), S.A_LISTEN)
        self.listened_node[lst] = node[lst]

        # --- a worked-out node: try a neighbour, else go home
        for i in np.flatnonzero((mode == WORK_MODE) & exhausted_here & ~decided):
            self._move_on(i, int(node[i]), fuel[i], mult[i], remaining[i], cargo[i])

        # --- outbound: follow the route
        out = (mode == OUT_MODE) & ~decided
        if out.any():
            pos = np.clip(self.route_pos, 0, ROUTE_MAX - 1)
            slot = self.route[rows, pos].astype(np.int64)
            slot_ok = (slot >= 0) & nvalid[rows, np.clip(slot, 0, S.MAX_NEIGHBORS - 1)]
            go = put(out & slot_ok, slot)
            self.route_pos[go] += 1
            mode[out & ~slot_ok] = HOME_MODE

        # --- working at a node
        w = (mode == WORK_MODE) & ~decided
        if w.any():
            put(w & (heat > self.cool_heat), self.cool_action)
            put(w & (alert > self.alert_hold), S.A_HOLD)
            put(w & (tool <= self.tool_min) & (kits >= 1), S.A_TOOL_MAINT)
            put(w & (hull < self.patch_hull) & (kits >= 2), S.A_HULL_PATCH)
            if self.scans:
                mean_conf = np.where(good, conf, 0).sum(axis=1) / np.maximum(1, good.sum(axis=1))
                put(w & (mean_conf < 0.34), S.A_WIDE_SCAN)
            put(w & need_select, S.A_SELECT + best)
            if self.scans:
                put(w & has_sel & (conf[rows, sel_i] < 0.6), S.A_DEEP_SCAN)
            if self.stabilize_below > 0:
                st = put(
                    w
                    & has_sel
                    & (stab[rows, sel_i] < self.stabilize_below)
                    & (stabs >= 1)
                    & (self.stab_left <= 0)
                    & mining_ok,
                    S.A_STABILIZE,
                )
                self.stab_left[st] = int(_CFG["stabilize_ticks"])
            mode_now = np.where(tool > self.tool_min, self.mine_mode, self.worn_mine_mode)
            put(w & mining_ok, S.A_MINE + mode_now)
            put(w, S.A_HOLD)

        # --- going home
        h = (mode == HOME_MODE) & ~decided & ~at_station
        if h.any():
            slot = self.home_next[rows, node].astype(np.int64)
            slot_ok = (slot >= 0) & nvalid[rows, np.clip(slot, 0, S.MAX_NEIGHBORS - 1)]
            put(h & slot_ok, slot)
            for i in np.flatnonzero(h & ~slot_ok):
                action[i] = self._way_home(i, int(node[i]), nvalid[i])
                decided[i] = True

        # --- at the station
        st = (mode == STATION_MODE) & ~decided
        if st.any():
            put(st & ~docked, S.A_DOCK)
            dk = st & docked
            self.wait[~dk] = 0
            held = cargo_c > 0
            any_held = held.any(axis=1)
            if self.timer_hold > 0:
                # sell above the running mean; after timer_hold waits, or near the end, sell anyway
                hurry = (self.wait >= self.timer_hold) | (remaining < self.timer_hold + 40)
                sellable = held & ((price_norm > self.price_mean) | hurry[:, None])
                c = np.argmax(np.where(sellable, cargo_c * price, -1.0), axis=1)
                put(dk & sellable.any(axis=1), S.A_SELL + 3 * c + 2)
                waiting = put(dk & any_held, S.A_HOLD)
                self.wait[waiting] += 1
            else:
                c = np.argmax(np.where(held, cargo_c * price, -1.0), axis=1)
                frac = np.full(n, self.sell_fraction)
                if self.sell_fraction < 2:
                    frac = np.where(cargo_c[rows, c] > 0.01, self.sell_fraction, 2)
                put(dk & any_held, S.A_SELL + 3 * c + frac)
            # no shopping when no trip fits into the time left (_depart would cash out)
            dk = dk & (remaining > 100 + self.time_margin)
            overhaul_cost = (
                _CFG["overhaul_base"]
                + _CFG["overhaul_hull_rate"] * (1.0 - hull) * S.HULL_MAX
                + _CFG["overhaul_tool_rate"] * (1.0 - tool) * S.TOOL_MAX
            )
            put(
                dk
                & ((hull < self.overhaul_hull) | (tool < self.overhaul_tool))
                & (credits >= overhaul_cost * 1.01 + 1.0),
                S.A_OVERHAUL,
            )
            low = dk & (fuel < self.fuel_buy_below * S.FUEL_MAX)
            for size in (2, 1, 0):
                cost = np.minimum(FUEL_AMOUNT[size], S.FUEL_MAX - fuel) * FUEL_PRICE[size]
                put(low & (credits >= cost * 1.01 + 1.0), S.A_BUY_FUEL + size)
            prices = (_CFG["kit_price"], _CFG["stabilizer_price"], _CFG["decoy_price"])
            for item, (count, want, p) in enumerate(zip((kits, stabs, decoys), self.stock, prices)):
                if want > 0:
                    put(dk & (count < want) & (credits >= p + self.item_reserve), S.A_BUY_KIT + item)
            for i in np.flatnonzero(st & docked & ~decided):
                action[i] = self._depart(i, fuel[i], credits[i], remaining[i])
                decided[i] = True

        self.mode = mode
        self.last_action[:] = action
        self.last_node[:] = node
        return action.astype(np.int32)

    # ------------------------------------------------------ navigation
    def _guess_back(self, i: int, a: int, k: int, b: int) -> bool:
        """Slot k of node a leads to b: mark b's slot that looks like the same edge
        (same travel time and base fuel, leading to a's type) as leading to a; the
        guess is sure when exactly one slot looks like that."""
        t, base, ta = self.edge_time[i, a, k], self.edge_base[i, a, k], self.node_type[i, a]
        dest = self.edge_dest[i, b]
        match = [
            j
            for j in range(S.MAX_NEIGHBORS)
            if (
                self.nbr_type[i, b, j] == ta
                and self.edge_time[i, b, j] == t
                and self.edge_base[i, b, j] == base
                and dest[j] in (-1, a)
            )
        ]
        if not match:
            return False
        self.edge_dest[i, b, match[0]] = a
        self.edge_sure[i, b, match[0]] = len(match) == 1
        return True

    def _shortest_home(self, i: int) -> None:
        """Dijkstra to the station over the known edges (weight: base fuel, plus a
        penalty for entering a node type the bot avoids)."""
        ed = self.edge_dest[i].tolist()
        sure = self.edge_sure[i].tolist()
        eb = self.edge_base[i].tolist()
        et = self.edge_time[i].tolist()
        nt = self.node_type[i].tolist()
        allowed = self._allowed(i)
        into = [[] for _ in range(S.MAX_NODES)]
        for u in range(S.MAX_NODES):
            for s, v in enumerate(ed[u]):
                if v >= 0:
                    into[v].append((u, s))
        key = [INF] * S.MAX_NODES
        fuel = [INF] * S.MAX_NODES
        ticks = [0.0] * S.MAX_NODES
        nxt = [-1] * S.MAX_NODES
        key[0] = fuel[0] = 0.0
        heap = [(0.0, 0)]
        while heap:
            k, v = heapq.heappop(heap)
            if k > key[v]:
                continue
            penalty = 0.0 if v == 0 or nt[v] in allowed else 400.0
            for u, s in into[v]:
                # A guessed slot may lead elsewhere: then the detour there and back
                # costs twice its fuel, so plan with that reserve and prefer sure slots.
                reserve = 0.0 if sure[u][s] else 2.0 * eb[u][s]
                k2 = k + eb[u][s] + reserve + penalty + 1e-3
                if k2 < key[u]:
                    key[u] = k2
                    fuel[u] = fuel[v] + eb[u][s] + reserve
                    ticks[u] = ticks[v] + et[u][s]
                    nxt[u] = s
                    heapq.heappush(heap, (k2, u))
        self.home_cost[i] = fuel
        self.home_time[i] = ticks
        self.home_next[i] = nxt

    def _allowed(self, i: int) -> tuple[int, ...]:
        return (S.CLUSTER, S.HAZARD) if self.hazard_ok[i] else self.allowed_types

    def _threat_ok(self, threat: float) -> bool:
        return threat <= self.threat_limit

    def _route_to(self, i: int, v: int) -> list[tuple[int, int]] | None:
        """(node, slot) steps from the station to node v along v's way home, reversed."""
        chain = [v]
        while chain[-1] != 0:
            s = self.home_next[i, chain[-1]]
            if s < 0 or len(chain) > S.MAX_NODES:
                return None
            chain.append(int(self.edge_dest[i, chain[-1], s]))
        chain.reverse()
        steps = []
        for a, b in zip(chain[:-1], chain[1:]):
            slots = np.flatnonzero(self.edge_dest[i, a] == b)
            if slots.size == 0:
                return None
            steps.append((a, int(slots[np.argmin(self.edge_base[i, a, slots])])))
        return steps

    def _set_route(self, i: int, steps: list[tuple[int, int]]) -> None:
        self.route[i] = -1
        self.route_nodes[i] = -1
        for p, (a, s) in enumerate(steps):
            self.route_nodes[i, p] = a
            self.route[i, p] = s
        self.route_len[i] = len(steps)
        self.route_pos[i] = 0
        self.mode[i] = OUT_MODE

    def _depart(self, i: int, fuel: float, credits: float, remaining: float) -> int:
        """Docked with the business done: pick a trip and take its first step (or buy
        the fuel it needs first); CASH_OUT when no trip is possible any more."""
        hc, ht = self.home_cost[i].tolist(), self.home_time[i].tolist()
        nt, ex = self.node_type[i].tolist(), self.node_exhausted[i].tolist()
        allowed = self._allowed(i)
        cands = []
        for v in range(1, S.MAX_NODES):
            if nt[v] in allowed and not ex[v] and hc[v] < INF:
                cands.append((hc[v], hc[v], 0.0, ht[v], v, -1))
        ed, eb, et = self.edge_dest[i].tolist(), self.edge_base[i].tolist(), self.edge_time[i].tolist()
        ntyp, nthr = self.nbr_type[i].tolist(), self.nbr_threat[i].tolist()
        unknown_threat = float(np.float32(S.UNKNOWN_THREAT))
        for u in range(S.MAX_NODES):
            if nt[u] < 0 or hc[u] == INF or (u != 0 and nt[u] not in allowed):
                continue
            for s in range(S.MAX_NEIGHBORS):
                if ed[u][s] == -1 and ntyp[u][s] in allowed:
                    threat = nthr[u][s]
                    unknown = threat == unknown_threat
                    c = hc[u] + eb[u][s]
                    penalty = 15.0 + (100.0 if unknown and self.listen else 0.0)
                    if not unknown and not self._threat_ok(threat):
                        penalty += 1000.0  # only when nothing safer is left
                    # the way back over a new edge may be ambiguous: reserve a detour
                    cands.append((c + penalty, c, 2.0 * eb[u][s], ht[u] + et[u][s], u, s))
        cands.sort()
        fuel_price = FUEL_PRICE[2]
        for _, cost, reserve, ticks, v, s in cands:
            if remaining < 2.0 * ticks + 40.0 + self.time_margin:
                continue
            need = cost + 1.5 * (cost + reserve) + self.fuel_margin + 10.0
            if need > S.FUEL_MAX:
                continue
            if need > fuel:
                if credits >= (need - fuel) * fuel_price * 1.05 + 1.0:
                    for size in (2, 1, 0):
                        qty = min(FUEL_AMOUNT[size], S.FUEL_MAX - fuel)
                        if credits >= qty * FUEL_PRICE[size] * 1.01 + 1.0:
                            return S.A_BUY_FUEL + size
                continue
            steps = [] if v == 0 else self._route_to(i, v)
            if steps is None:
                continue
            if s >= 0:
                steps = steps + [(v, s)]
            if not steps:
                continue
            self._set_route(i, steps)
            self.route_pos[i] = 1
            return steps[0][1]
        if self.exhaust[i] < self.exhaust_last:
            # Everything reachable is mined down to exhaust_dep: settle for the leftovers.
            self.exhaust[i] = self.exhaust_last
            self.node_exhausted[i] = False
            return self._depart(i, fuel, credits, remaining)
        if self.last_resort_hazard and not self.hazard_ok[i]:
            # ... and then for the hazard nodes.
            self.hazard_ok[i] = True
            self._shortest_home(i)
            return self._depart(i, fuel, credits, remaining)
        return S.A_CASH_OUT

    def _move_on(self, i: int, u: int, fuel: float, mult: float, remaining: float, cargo: float) -> None:
        """The node u is worked out: one hop to an unexplored or unmined neighbour, or home."""
        self.mode[i] = HOME_MODE
        if cargo >= 0.6:
            return
        hc, ht = self.home_cost[i], self.home_time[i]
        allowed = self._allowed(i)
        best = None
        for s in range(S.MAX_NEIGHBORS):
            typ = self.nbr_type[i, u, s]
            if typ not in allowed:
                continue
            v = self.edge_dest[i, u, s]
            eb, et = float(self.edge_base[i, u, s]), float(self.edge_time[i, u, s])
            if v < 0:
                threat = float(self.nbr_threat[i, u, s])
                if not self._threat_ok(threat) or (self.listen and threat == S.UNKNOWN_THREAT):
                    continue
                back, back_t = 3.0 * eb + hc[u], et + ht[u]  # with a detour reserve
            else:
                if self.node_exhausted[i, v] or not math.isfinite(hc[v]):
                    continue
                back, back_t = hc[v], ht[v]
            if fuel < eb * mult + back * 1.5 + self.fuel_margin + 10.0:
                continue
            if remaining < et + back_t + 40.0 + self.time_margin:
                continue
            if best is None or eb < best[0]:
                best = (eb, s)
        if best is not None:
            self._set_route(i, [(u, best[1])])

    def _way_home(self, i: int, u: int, valid: np.ndarray) -> int:
        """No known way home from u (a wrong guess somewhere): take the best bet."""
        slots = np.flatnonzero(valid)
        if slots.size == 0:
            return S.A_HOLD
        types = self.nbr_type[i, u, slots]
        if (types == S.STATION).any():
            return int(slots[np.argmax(types == S.STATION)])
        dest = self.edge_dest[i, u, slots]
        costs = np.where(dest >= 0, self.home_cost[i, np.maximum(dest, 0)], INF)
        if np.isfinite(costs).any():
            return int(slots[np.argmin(costs + self.edge_base[i, u, slots])])
        unknown = dest < 0
        if unknown.any():
            cand = slots[unknown]
            return int(cand[np.argmin(self.edge_base[i, u, cand])])
        return int(slots[np.argmin(self.edge_base[i, u, slots])])


class GreedyMiner(ScriptedBot):
    name = "greedy_miner"


class MarketTimer(ScriptedBot):
    name = "market_timer"
    timer_hold = 60


class CautiousScanner(ScriptedBot):
    name = "cautious_scanner"
    return_cargo = 0.70
    return_heat = 0.75
    return_hull = 0.55
    fuel_margin = 80.0
    time_margin = 60.0
    mine_mode = 0  # conservative
    worn_mine_mode = 0
    tool_min = 0.50
    cool_heat = 0.60
    cool_action = S.A_HOLD
    alert_hold = 0.40
    exhaust_dep = 0.85
    hysteresis = 0.8
    patch_hull = 0.75
    scans = True
    listen = True
    threat_limit = 0.30
    stabilize_below = 0.45
    sell_fraction = 1  # 50 % buckets
    fuel_buy_below = 0.60
    overhaul_hull = 0.85
    overhaul_tool = 0.80
    stock = (4, 3, 2)
    last_resort_hazard = False


_BOTS = {
    "random": RandomBot,
    "greedy_miner": GreedyMiner,
    "cautious_scanner": CautiousScanner,
    "market_timer": MarketTimer,
}
assert tuple(_BOTS) == BOT_NAMES


def make_bot(name: str, num_envs: int = 1, seed: int = 0) -> Bot:
    """A fresh bot by name (one of BOT_NAMES) for ``num_envs`` envs."""
    if name not in _BOTS:
        raise ValueError(f"unknown bot {name!r}; choose one of {', '.join(BOT_NAMES)}")
    return _BOTS[name](num_envs=num_envs, seed=seed)
