"""Pure-Python reference implementation of Asteroid Belt Prospector.

This file is the executable spec: read it top to bottom next to docs/game.md.
The C core in ext/prospector.h follows it line by line and must match it bit
for bit (``prospector parity``).  Therefore:

* every random draw happens in the order written here, from the generator written here;
* every float expression keeps the written operation order (a + b + c is (a + b) + c);
* ``maxd``/``mind``/``clamp`` are used instead of the builtins so that ties and signed
  zeros behave exactly like the C ternaries.

It is slow (tens of microseconds a step) and that is fine: it is for reading,
for parity, and for tests.  Train on ``prospector.ProspectorEnv`` / ``VecProspector``.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np

from . import spec as S
from .actions import as_action_index
from .rng import Pcg32
from .state import events_to_dicts, info_dict

# ------------------------------------------------------------------ helpers


def maxd(a: float, b: float) -> float:
    return a if a > b else b


def mind(a: float, b: float) -> float:
    return a if a < b else b


def clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else (hi if x > hi else x)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def per_step_chance(p_tick: float, dt: int) -> float:
    """Chance that a per-tick event with probability p happens at least once in dt ticks."""
    return 1.0 - (1.0 - p_tick) ** float(dt)


EV = {name: i for i, name in enumerate(S.EVENT_TYPES)}


class Asteroid:
    __slots__ = (
        "comp",
        "richness",
        "stability",
        "noise",
        "capacity",
        "depletion",
        "comp_est",
        "stability_est",
        "scan_conf",
    )


class Node:
    __slots__ = (
        "type",
        "pirate",
        "hazard",
        "richness",
        "neighbors",
        "edge_time",
        "edge_fuel",
        "dist",
        "generated",
        "threat_est",
        "asteroids",
    )

    def __init__(self, node_type: int):
        self.type = node_type
        self.pirate = 0.0
        self.hazard = 0.0
        self.richness = 1.0
        self.neighbors: list[int] = []
        self.edge_time: list[int] = []
        self.edge_fuel: list[float] = []
        self.dist = 0
        self.generated = False
        self.threat_est = S.UNKNOWN_THREAT
        self.asteroids: list[Asteroid] = []


# --------------------------------------------------------------- the game


class ReferenceEnv(gym.Env):
    """Gymnasium env over the reference implementation (same API as ProspectorEnv)."""

    metadata = {"render_modes": []}

    def __init__(self, config: dict | None = None, **overrides):
        self.config = S.make_config(config, **overrides)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (S.OBS_DIM,), np.float32)
        self.action_space = gym.spaces.Discrete(S.N_ACTIONS)
        self.rng: Pcg32 | None = None
        self.done = True
        self.episode_seed = None

    # ---------------------------------------------------------------- reset
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            episode_seed = int(seed)
        elif self.rng is not None:
            episode_seed = self.rng.next_u64()  # the next episode follows from the last one
        else:
            episode_seed = int(self.np_random.integers(0, 2**63))
        self._generate(episode_seed)
        self.events: list[tuple] = []
        return self._observation(), info_dict(self._info_values(), None, [])

    def _generate(self, episode_seed: int) -> None:
        """World generation, docs/game.md#62-world-generation, in draw order."""
        c = self.config
        self.episode_seed = episode_seed & ((1 << 64) - 1)
        rng = self.rng = Pcg32(self.episode_seed)

        n = rng.randint(int(c["node_count_min"]), int(c["node_count_max"]))
        n_hazard = rng.randint(1, max(1, n // int(c["hazard_divisor"])))
        self.nodes = [Node(S.STATION)]
        for i in range(1, n):
            self.nodes.append(Node(S.HAZARD if i >= n - n_hazard else S.CLUSTER))

        # Spanning tree: node i links to a random earlier node with a free slot.
        for i in range(1, n):
            free = [j for j in range(i) if len(self.nodes[j].neighbors) < S.MAX_NEIGHBORS]
            self._add_edge(i, free[rng.randint(0, len(free) - 1)])
        # Extra edges: n // divisor attempts; a pair that does not qualify is skipped.
        for _ in range(n // int(c["extra_edge_divisor"])):
            a = rng.randint(0, n - 1)
            b = rng.randint(0, n - 1)
            na, nb = self.nodes[a], self.nodes[b]
            if (
                a != b
                and b not in na.neighbors
                and len(na.neighbors) < S.MAX_NEIGHBORS
                and len(nb.neighbors) < S.MAX_NEIGHBORS
            ):
                self._add_edge(a, b)

        # Latent intensities and richness.
        for node in self.nodes:
            if node.type == S.CLUSTER:
                u = rng.u()
                node.pirate = c["cluster_pirate_scale"] * (u * u)
                node.hazard = c["cluster_hazard_scale"] * rng.u()
            elif node.type == S.HAZARD:
                node.pirate = c["hazard_node_pirate_base"] + c["hazard_node_pirate_span"] * rng.u()
                node.hazard = c["hazard_node_hazard_base"] + c["hazard_node_hazard_span"] * rng.u()
            node.richness = 1.0 + c["richness_risk_bonus"] * (node.pirate + node.hazard)
        self._bfs_from_station()

        # Market regime per commodity.
        self.p0 = [c[f"p0_{k}"] for k in range(S.N_COMMODITIES)]
        self.price_min = [c["price_min_frac"] * p for p in self.p0]
        self.price_max = [c["price_max_frac"] * p for p in self.p0]
        self.period, self.phase, self.amplitude = [], [], []
        self.inventory, self.inventory_start = [], []
        # The price cycle sin(2 pi (t + phase) / period) is kept as a unit vector
        # (cycle_sin, cycle_cos) that rotates by 2 pi / period every tick: the same
        # multiply-adds in both implementations, equal to the closed form within 1e-12.
        self.cycle_sin, self.cycle_cos, self.turn_sin, self.turn_cos = [], [], [], []
        for k in range(S.N_COMMODITIES):
            period = rng.randint(int(c["period_min"]), int(c["period_max"]))
            self.period.append(float(period))
            self.phase.append(rng.u() * period)
            self.amplitude.append((c["amplitude_base"] + c["amplitude_span"] * rng.u()) * self.p0[k])
            inv = c["inventory_base"] + c["inventory_span"] * rng.u()
            self.inventory.append(inv)
            self.inventory_start.append(inv)
            angle = TWO_PI * self.phase[k] / self.period[k]
            self.cycle_sin.append(math.sin(angle))
            self.cycle_cos.append(math.cos(angle))
            self.turn_sin.append(math.sin(TWO_PI / self.period[k]))
            self.turn_cos.append(math.cos(TWO_PI / self.period[k]))
        self.recent_sales = [0.0] * S.N_COMMODITIES
        self.shock = [0.0] * S.N_COMMODITIES
        self.price = [0.0] * S.N_COMMODITIES
        self.time_max = int(c["time_max"])
        self.time_remaining = self.time_max
        self._set_prices()
        self.prev_price = list(self.price)

        # The ship.
        # Capped: start + jitter may exceed the tank or the tool's 100 in an edge config.
        self.fuel = mind(S.FUEL_MAX, c["start_fuel"] + c["start_fuel_jitter"] * rng.u())
        self.hull = S.HULL_MAX
        self.heat = 0.0
        self.tool = mind(S.TOOL_MAX, c["start_tool"] + c["start_tool_jitter"] * rng.u())
        self.credits = c["start_credits"] + c["start_credits_jitter"] * rng.u()
        self.start_credits = self.credits
        self.alert = 0.0
        self.raw = [0.0] * S.N_COMMODITIES
        self.refined = [0.0] * S.N_COMMODITIES
        self.kits = int(c["start_kits"])
        self.stabilizers = int(c["start_stabilizers"])
        self.decoys = int(c["start_decoys"])
        self.docked = False
        self.node = 0
        self.selected = -1
        self.escape_ticks = 0
        self.stab_node, self.stab_asteroid, self.stab_ticks = -1, -1, 0
        self._visit(0)

        # Episode statistics (info).
        self.overheat_ticks = 0
        self.pirate_encounters = 0
        self.value_lost = 0.0
        self.fuel_used = 0.0
        self.hull_damage = 0.0
        self.tool_wear = 0.0
        self.scan_count = 0
        self.mining_ticks = 0
        self.cargo_ticks = 0.0  # sum of cargo_load_frac * dt
        self.invalid = False
        self.last_dt = 0
        self.end_reason = None
        self.done = False

    def _add_edge(self, a: int, b: int) -> None:
        c, rng = self.config, self.rng
        ticks = rng.randint(int(c["edge_time_min"]), int(c["edge_time_max"]))
        base_fuel = float(ticks * rng.randint(int(c["edge_fuel_min"]), int(c["edge_fuel_max"])))
        for x, y in ((a, b), (b, a)):
            self.nodes[x].neighbors.append(y)
            self.nodes[x].edge_time.append(ticks)
            self.nodes[x].edge_fuel.append(base_fuel)

    def _bfs_from_station(self) -> None:
        for node in self.nodes:
            node.dist = -1
        self.nodes[0].dist = 0
        frontier = [0]
        for i in frontier:  # the list grows while we walk it: breadth first
            for j in self.nodes[i].neighbors:
                if self.nodes[j].dist < 0:
                    self.nodes[j].dist = self.nodes[i].dist + 1
                    frontier.append(j)

    def _visit(self, index: int) -> None:
        """Generate a node's asteroids on the first visit, from its own stream.

        The stream is PCG32(episode_seed, RNG_SEQ + 1 + index), so what a node holds
        does not depend on when (or whether) the ship gets there.
        """
        node = self.nodes[index]
        if node.generated:
            return
        node.generated = True
        if node.type == S.STATION:
            return
        c = self.config
        rng = Pcg32(self.episode_seed, S.RNG_SEQ + 1 + index)
        if node.type == S.CLUSTER:
            count = rng.randint(int(c["cluster_asteroids_min"]), int(c["cluster_asteroids_max"]))
        else:
            count = rng.randint(int(c["hazard_asteroids_min"]), int(c["hazard_asteroids_max"]))
        dominant = rng.randint(0, S.N_COMMODITIES - 1)
        for _ in range(count):
            ast = Asteroid()
            weights = []
            for k in range(S.N_COMMODITIES):
                w = math.exp(c["comp_sigma"] * rng.n())
                weights.append(w * c["dominant_weight"] if k == dominant else w)
            ast.comp = normalise(weights)
            ast.richness = clamp(node.richness * math.exp(c["richness_sigma"] * rng.n()), 0.05, 15.0)
            ast.stability = 0.1 + 0.9 * rng.u()
            ast.noise = 0.2 + 0.8 * rng.u()
            ast.capacity = c["capacity_base"] + c["capacity_per_richness"] * ast.richness
            ast.depletion = 0.0
            ast.comp_est = [1.0 / S.N_COMMODITIES] * S.N_COMMODITIES
            ast.stability_est = 0.5
            ast.scan_conf = 0.1
            node.asteroids.append(ast)

    # ------------------------------------------------------------ quantities
    def cargo_volume(self) -> float:
        v = 0.0
        for k in range(S.N_COMMODITIES):
            v = v + (self.raw[k] + self.config["refined_volume"] * self.refined[k])
        return v

    def cargo_value(self) -> float:
        v = 0.0
        for k in range(S.N_COMMODITIES):
            v = v + (self.raw[k] + self.config["refined_price"] * self.refined[k]) * self.price[k]
        return v

    def fuel_multiplier(self) -> float:
        return 1.0 + self.config["cargo_mass_fuel"] * self.cargo_volume() / S.CARGO_MAX

    def selected_asteroid(self) -> Asteroid | None:
        if self.selected < 0:
            return None
        return self.nodes[self.node].asteroids[self.selected]

    def overhaul_cost(self) -> float:
        c = self.config
        return (
            c["overhaul_base"]
            + c["overhaul_hull_rate"] * (S.HULL_MAX - self.hull)
            + c["overhaul_tool_rate"] * (S.TOOL_MAX - self.tool)
        )

    def fuel_purchase(self, size: int) -> tuple[float, float]:
        qty = mind(self.config[f"fuel_amount_{size}"], S.FUEL_MAX - self.fuel)
        return qty, qty * self.config[f"fuel_price_{size}"]

    def item_count(self, item: int) -> int:
        return (self.kits, self.stabilizers, self.decoys)[item - S.ITEM_KIT]

    # -------------------------------------------------------------- validity
    def is_valid(self, action: int) -> bool:
        """docs/game.md#3-actions "valid when", for every action index (out of range: False)."""
        if not 0 <= action < S.N_ACTIONS:
            return False
        node = self.nodes[self.node]
        ast = self.selected_asteroid()
        c = self.config
        if action < S.A_HOLD:
            return action < len(node.neighbors)
        if action == S.A_HOLD or action == S.A_COOLDOWN or action == S.A_CASH_OUT:
            return True
        if action == S.A_BURN:
            return self.fuel > 0.0
        if action == S.A_WIDE_SCAN:
            return len(node.asteroids) > 0
        if action in (S.A_FOCUSED_SCAN, S.A_DEEP_SCAN):
            return ast is not None
        if action == S.A_LISTEN:
            return not self.docked
        if action < S.A_MINE:
            return action - S.A_SELECT < len(node.asteroids)
        if action < S.A_STABILIZE:
            return ast is not None and ast.depletion < 1.0 and self.cargo_volume() < S.CARGO_MAX
        if action == S.A_STABILIZE:
            return ast is not None and self.stabilizers >= 1
        if action == S.A_REFINE:
            return sum_list(self.raw) >= 1.0
        if action in (S.A_TOOL_MAINT, S.A_HULL_PATCH):
            return self.kits >= 1
        if action < S.A_DOCK:
            k = action - S.A_JETTISON
            return self.raw[k] > 0.0 or self.refined[k] > 0.0
        if action == S.A_DOCK:
            return self.node == 0 and not self.docked
        if not self.docked:
            return False  # everything below happens at the station, docked
        if action < S.A_BUY_FUEL:
            k = (action - S.A_SELL) // 3
            return self.raw[k] > 0.0 or self.refined[k] > 0.0
        if action < S.A_BUY_KIT:
            qty, cost = self.fuel_purchase(action - S.A_BUY_FUEL)
            return self.fuel < S.FUEL_MAX and self.credits >= cost
        if action < S.A_OVERHAUL:
            item = action - S.A_BUY_KIT + S.ITEM_KIT
            price = c[("kit_price", "stabilizer_price", "decoy_price")[item - S.ITEM_KIT]]
            return self.item_count(item) < S.ITEM_CAP and self.credits >= price
        # FULL_OVERHAUL
        return (self.hull < S.HULL_MAX or self.tool < S.TOOL_MAX) and self.credits >= self.overhaul_cost()

    def action_mask(self) -> np.ndarray:
        return np.array([self.is_valid(a) for a in range(S.N_ACTIONS)], dtype=bool)

    # ------------------------------------------------------------------ step
    def step(self, action):
        if self.done:
            raise RuntimeError("step() called after the episode ended; call reset() first")
        action = as_action_index(action)
        c = self.config
        self.events = []

        # Snapshot for the reward.
        credits0, fuel_used0 = self.credits, self.fuel_used
        tool0, hull0 = self.tool, self.hull
        raw0, refined0 = list(self.raw), list(self.refined)
        value_lost0 = self.value_lost

        # 1. Validate and decode (invalid -> HOLD).
        self.invalid = not self.is_valid(action)
        if self.invalid:
            self._event("invalid", a=action)
            action = S.A_HOLD

        # 2. The action's own effects; dt.
        dt = self._apply(action)
        self.last_dt = dt

        if dt > 0:
            fdt = float(dt)
            # 3. Passive dynamics.
            self.time_remaining = max(0, self.time_remaining - dt)
            diss = c["heat_dissipation"] * c["docked_heat_factor"] if self.docked else c["heat_dissipation"]
            self.heat = maxd(0.0, self.heat - diss * fdt)
            decay = c["docked_alert_decay"] if self.docked else c["alert_decay"]
            self.alert = maxd(0.0, self.alert - decay * fdt)
            self.escape_ticks = max(0, self.escape_ticks - dt)
            self.stab_ticks = max(0, self.stab_ticks - dt)
            inv_decay = math.exp(-fdt / c["inventory_tau"])
            sales_decay = math.exp(-fdt / c["recent_sales_tau"])
            for k in range(S.N_COMMODITIES):
                self.inventory[k] = self.inventory_start[k] + (self.inventory[k] - self.inventory_start[k]) * inv_decay
                self.recent_sales[k] = self.recent_sales[k] * sales_decay

            # 4. Threshold dynamics: overheat.
            if self.heat > S.HEAT_MAX:
                dmg = c["overheat_hull"] * (self.heat - S.HEAT_MAX)
                self._damage(dmg)
                self.heat = S.HEAT_MAX
                self._event("overheat", x=dmg)

            # 5. Exposure.
            if not self.docked and self.node != 0:
                self._exposure(dt)
            if self.heat > c["heat_safe"]:
                self.overheat_ticks += dt

            # 6. Market.
            self.prev_price = list(self.price)
            shock_decay = math.exp(-fdt / c["shock_tau"])
            shock_chance = per_step_chance(c["shock_rate"], dt)
            for k in range(S.N_COMMODITIES):
                self.shock[k] = self.shock[k] * shock_decay
                if self.rng.u() < shock_chance:
                    sign = -1.0 if self.rng.u() < 0.5 else 1.0
                    self.shock[k] = self.shock[k] + sign * (
                        (c["shock_base"] + c["shock_span"] * self.rng.u()) * self.p0[k]
                    )
            self._advance_cycles(dt)
            self._set_prices()
            self.cargo_ticks = self.cargo_ticks + self.cargo_volume() / S.CARGO_MAX * fdt

        # 7. Termination.
        terminated = truncated = False
        if self.hull <= 0.0:
            self.end_reason, terminated = "destroyed", True
        elif self.fuel <= 0.0 and self.node != 0:
            self.end_reason, terminated = "stranded", True
        elif action == S.A_CASH_OUT:
            self.end_reason, terminated = "cash_out", True
        elif self.time_remaining <= 0:
            self.end_reason, truncated = "timeout", True
        self.done = terminated or truncated
        if self.done:
            self._event("end", a=S.END_REASONS.index(self.end_reason))

        # 8. Reward, observation, info.
        cargo_gain = self._value_of(self.raw, self.refined) - self._value_of(raw0, refined0)
        h = maxd(0.0, self.heat - S.R_HEAT_THRESHOLD) / 100.0
        if self.end_reason == "destroyed":
            r_terminal = S.R_DESTROYED
        elif self.end_reason == "stranded":
            r_terminal = S.R_STRANDED
        elif self.done:
            r_terminal = S.R_FINAL_CREDITS * self.credits / S.CREDIT_SCALE
        else:
            r_terminal = 0.0
        reward = (
            (self.credits - credits0) / S.CREDIT_SCALE
            + S.R_EXTRACT * maxd(0.0, cargo_gain) / S.CREDIT_SCALE
            + S.R_FUEL * maxd(0.0, self.fuel_used - fuel_used0) / 100.0
            + S.R_TIME * float(dt)
            + S.R_WEAR * maxd(0.0, tool0 - self.tool) / 10.0
            + S.R_DAMAGE * maxd(0.0, hull0 - self.hull) / 10.0
            + S.R_HEAT * (h * h)
            + (S.R_SCAN if action in (S.A_WIDE_SCAN, S.A_FOCUSED_SCAN, S.A_DEEP_SCAN) else 0.0)
            + (S.R_INVALID if self.invalid else 0.0)
            + S.R_PIRATE * (self.value_lost - value_lost0) / S.CREDIT_SCALE
            + r_terminal
        )
        info = info_dict(self._info_values(), self.end_reason, events_to_dicts(self.events))
        return self._observation(), reward, terminated, truncated, info

    def _value_of(self, raw, refined) -> float:
        """Cargo value at the current prices (so r_extract ignores price moves)."""
        v = 0.0
        for k in range(S.N_COMMODITIES):
            v = v + (raw[k] + self.config["refined_price"] * refined[k]) * self.price[k]
        return v

    def _event(self, name: str, a: int = 0, b: int = 0, x: float = 0.0, y: float = 0.0, z: float = 0.0):
        if len(self.events) < S.MAX_EVENTS:
            self.events.append((EV[name], a, b, x, y, z))

    def _burn_fuel(self, amount: float) -> float:
        used = mind(amount, self.fuel)
        self.fuel = self.fuel - used
        self.fuel_used = self.fuel_used + used
        return used

    def _damage(self, amount: float) -> None:
        lost = mind(amount, self.hull)
        self.hull = self.hull - lost
        self.hull_damage = self.hull_damage + lost

    def _raise_alert(self, amount: float) -> None:
        self.alert = mind(S.ALERT_MAX, self.alert + amount)

    def _lower_alert(self, amount: float) -> None:
        self.alert = maxd(0.0, self.alert - amount)

    def _undock(self) -> None:
        if self.docked:
            self.docked = False
            self._event("undock")

    def _apply(self, action: int) -> int:
        """docs/game.md#3-actions and 6: the action's own effects. Returns dt."""
        c = self.config
        node = self.nodes[self.node]
        if action < S.A_HOLD:  # TRAVEL(k)
            dest = node.neighbors[action]
            fuel = self._burn_fuel(node.edge_fuel[action] * self.fuel_multiplier())
            ticks = node.edge_time[action]
            self._undock()
            self._event("travel", a=self.node, b=dest, x=fuel, y=float(ticks))
            self.node = dest
            self.selected = -1
            self._visit(dest)
            return ticks
        if action == S.A_HOLD:
            self.heat = maxd(0.0, self.heat - c["hold_heat"])
            self._lower_alert(c["hold_alert"])
            self._event("hold")
            return 1
        if action == S.A_BURN:
            fuel = self._burn_fuel(c["burn_fuel"])
            self._raise_alert(c["burn_alert"])
            self.escape_ticks = int(c["escape_ticks"])
            self._undock()
            self._event("burn", x=fuel)
            return 1
        if action in (S.A_WIDE_SCAN, S.A_FOCUSED_SCAN, S.A_DEEP_SCAN):
            return self._scan(action - S.A_WIDE_SCAN)
        if action == S.A_LISTEN:
            sigma = c["listen_sigma"]
            for j in node.neighbors:
                other = self.nodes[j]
                truth = (other.pirate + other.hazard) / 2.0
                other.threat_est = clamp(truth + sigma * self.rng.n(), 0.0, 1.0)
            self._event("listen", a=len(node.neighbors))
            return 2
        if action < S.A_MINE:
            self.selected = action - S.A_SELECT
            self._event("select", a=self.selected)
            return 1
        if action < S.A_STABILIZE:
            self._mine(action - S.A_MINE)
            return 1
        if action == S.A_STABILIZE:
            self.stabilizers -= 1
            self.stab_node, self.stab_asteroid = self.node, self.selected
            self.stab_ticks = int(c["stabilize_ticks"])
            self._event("stabilize", a=self.selected)
            return 2
        if action == S.A_REFINE:
            best, best_value = 0, -1.0
            for k in range(S.N_COMMODITIES):
                value = self.raw[k] * self.price[k]
                if self.raw[k] > 0.0 and value > best_value:
                    best, best_value = k, value
            qty = mind(c["refine_batch"], self.raw[best])
            self.raw[best] = self.raw[best] - qty
            self.refined[best] = self.refined[best] + qty
            self._burn_fuel(c["refine_fuel"])
            self.heat = self.heat + c["refine_heat"]
            self._raise_alert(c["refine_alert"])
            self._event("refine", a=best, x=qty)
            return 3
        if action == S.A_COOLDOWN:
            drop = mind(c["cooldown_heat"], self.heat)
            self.heat = self.heat - drop
            self._burn_fuel(c["cooldown_fuel"])
            self._raise_alert(c["cooldown_alert"])
            self._event("cooldown", x=drop)
            return 2
        if action == S.A_TOOL_MAINT:
            self.kits -= 1
            gain = mind(c["tool_repair"], S.TOOL_MAX - self.tool)
            self.tool = self.tool + gain
            self._event("repair", a=S.REPAIR_TOOL, x=gain)
            return 2
        if action == S.A_HULL_PATCH:
            self.kits -= 1
            gain = mind(c["hull_repair"], S.HULL_MAX - self.hull)
            self.hull = self.hull + gain
            self._event("repair", a=S.REPAIR_HULL, x=gain)
            return 2
        if action < S.A_DOCK:
            k = action - S.A_JETTISON
            qty = self.raw[k] + self.refined[k]
            self.raw[k] = 0.0
            self.refined[k] = 0.0
            self._lower_alert(c["jettison_alert"])
            self._event("jettison", a=k, x=qty)
            return 1
        if action == S.A_DOCK:
            self.docked = True
            self._lower_alert(c["dock_alert"])
            self._event("dock")
            return 1
        if action < S.A_BUY_FUEL:
            self._sell((action - S.A_SELL) // 3, S.SELL_FRACTIONS[(action - S.A_SELL) % 3])
            return 1
        if action < S.A_BUY_KIT:
            qty, cost = self.fuel_purchase(action - S.A_BUY_FUEL)
            self.fuel = self.fuel + qty
            self.credits = self.credits - cost
            self._event("buy", a=S.ITEM_FUEL, x=qty, y=cost)
            return 1
        if action < S.A_OVERHAUL:
            item = action - S.A_BUY_KIT + S.ITEM_KIT
            price = c[("kit_price", "stabilizer_price", "decoy_price")[item - S.ITEM_KIT]]
            if item == S.ITEM_KIT:
                self.kits += 1
            elif item == S.ITEM_STABILIZER:
                self.stabilizers += 1
            else:
                self.decoys += 1
            self.credits = self.credits - price
            self._event("buy", a=item, x=1.0, y=price)
            return 1
        if action == S.A_OVERHAUL:
            cost = self.overhaul_cost()
            gain = (S.HULL_MAX - self.hull) + (S.TOOL_MAX - self.tool)
            self.credits = self.credits - cost
            self.hull = S.HULL_MAX
            self.tool = S.TOOL_MAX
            self._event("repair", a=S.REPAIR_OVERHAUL, x=gain, y=cost)
            return 4
        return 0  # CASH_OUT: no time passes

    def _scan(self, mode: int) -> int:
        """WIDE (every asteroid, may misread), FOCUSED and DEEP (the selected one)."""
        c = self.config
        node = self.nodes[self.node]
        self.scan_count += 1
        name = S.SCAN_MODES[mode]
        weight, sigma = c[f"{name}_weight"], c[f"{name}_sigma"]
        if mode == 0:
            count = len(node.asteroids)
            for i, ast in enumerate(node.asteroids):
                source = ast
                if self.rng.u() < c["wide_misread"] and count > 1:
                    j = self.rng.randint(0, count - 2)
                    source = node.asteroids[j + 1 if j >= i else j]
                self._blend(ast, source, weight, sigma)
                ast.scan_conf = maxd(ast.scan_conf, mind(c["wide_conf_cap"], ast.scan_conf + c["wide_conf_gain"]))
            target = -1
        else:
            ast = node.asteroids[self.selected]
            self._blend(ast, ast, weight, sigma)
            if mode == 1:
                ast.scan_conf = maxd(ast.scan_conf, mind(c["focused_conf_cap"], ast.scan_conf + c["focused_conf_gain"]))
            else:
                ast.scan_conf = maxd(ast.scan_conf, c["deep_conf"])
            target = self.selected
        fuel = self._burn_fuel(c[f"{name}_fuel"])
        self._raise_alert(c[f"{name}_alert"])
        self._event("scan", a=mode, b=target, x=fuel)
        return (3, 2, 5)[mode]

    def _blend(self, ast: Asteroid, source: Asteroid, weight: float, sigma: float) -> None:
        """est = normalise((1-w) est + w reading); reading = max(0, truth + sigma noise n())."""
        spread = sigma * ast.noise
        mixed = []
        for k in range(S.N_COMMODITIES):
            reading = maxd(0.0, source.comp[k] + spread * self.rng.n())
            mixed.append((1.0 - weight) * ast.comp_est[k] + weight * reading)
        total = sum_list(mixed)
        if total > 0.0:
            ast.comp_est = [m / total for m in mixed]
        reading = clamp(source.stability + spread * self.rng.n(), 0.0, 1.0)
        ast.stability_est = (1.0 - weight) * ast.stability_est + weight * reading

    def _mine(self, mode: int) -> None:
        c = self.config
        ast = self.selected_asteroid()
        tool_frac = self.tool / S.TOOL_MAX
        heat0 = self.heat
        if heat0 <= c["heat_safe"]:
            heat_eff = 1.0
        else:
            heat_eff = maxd(c["heat_yield_floor"], 1.0 - (heat0 - c["heat_safe"]) / c["heat_yield_span"])
        units = (
            c[f"mine_yield_{mode}"]
            * mind(ast.richness, c["richness_factor_cap"])
            * (1.0 - ast.depletion)
            * (0.4 + 0.6 * tool_frac)
            * heat_eff
            * math.exp(c[f"mine_sigma_{mode}"] * self.rng.n())
        )
        free = S.CARGO_MAX - self.cargo_volume()
        scale = free / units if units > free else 1.0
        total = 0.0
        for k in range(S.N_COMMODITIES):
            got = units * ast.comp[k] * scale
            self.raw[k] = self.raw[k] + got
            total = total + got
        ast.depletion = mind(1.0, ast.depletion + total / ast.capacity)
        self.heat = self.heat + c[f"mine_heat_{mode}"]
        wear = mind(c[f"mine_wear_{mode}"], self.tool)
        self.tool = self.tool - wear
        self.tool_wear = self.tool_wear + wear
        self._raise_alert(c[f"mine_alert_{mode}"])
        self.mining_ticks += 1
        self._event("mine", a=mode, b=self.selected, x=total)

        buff = (
            1.0
            if (self.stab_ticks > 0 and self.stab_node == self.node and self.stab_asteroid == self.selected)
            else 0.0
        )
        logit = (
            c["fracture_base"]
            + c[f"mine_fracture_{mode}"]
            + 3.0 * (1.0 - ast.stability)
            + 4.0 * maxd(0.0, heat0 - c["heat_safe"]) / 30.0
            + 2.0 * (1.0 - tool_frac)
            - 3.0 * buff
        )
        if self.rng.u() < sigmoid(logit):
            ast.depletion = 1.0
            dmg = c["fracture_hull"] + c["fracture_hull_jitter"] * self.rng.u()
            self._damage(dmg)
            node = self.nodes[self.node]
            # Never lowers a hazard that an edge config set above the cap.
            node.hazard = maxd(node.hazard, mind(1.0, node.hazard + c["fracture_hazard_rise"]))
            self._event("fracture", a=self.selected, x=dmg)

    def _sell(self, k: int, fraction: float) -> None:
        c = self.config
        q_raw = fraction * self.raw[k]
        q_ref = fraction * self.refined[k]
        qty = q_raw + q_ref
        depth = c["depth_base"] + c["depth_per_inventory"] * self.inventory[k]
        slippage = mind(
            c["slippage_cap"], c["slippage_coef"] * ((qty + self.recent_sales[k]) / depth) ** c["slippage_exp"]
        )
        gained = (q_raw + c["refined_price"] * q_ref) * self.price[k] * (1.0 - slippage)
        self.credits = self.credits + gained
        self.inventory[k] = self.inventory[k] + qty
        self.recent_sales[k] = self.recent_sales[k] + qty
        self.raw[k] = self.raw[k] - q_raw
        self.refined[k] = self.refined[k] - q_ref
        self._event("sell", a=k, x=qty, y=gained, z=slippage)

    def _exposure(self, dt: int) -> None:
        """Hazards, then pirates, at the current node (docs/game.md#68-exposure-pirates-heat-damage)."""
        c = self.config
        node = self.nodes[self.node]
        fdt = float(dt)
        if node.hazard > 0.0:
            dmg = c["hazard_hull"] * node.hazard * fdt * (0.5 + self.rng.u())
            heat = c["hazard_heat"] * node.hazard * fdt
            self._damage(dmg)
            self.heat = mind(S.HEAT_MAX, self.heat + heat)
            self._raise_alert(c["hazard_alert"] * node.hazard * fdt)
            self._event("hazard_damage", x=dmg, y=heat)
        escape = 1.0 if self.escape_ticks > 0 else 0.0
        logit = (
            c["pirate_base"]
            + c["pirate_intensity"] * node.pirate
            + c["pirate_alert"] * (self.alert / S.ALERT_MAX)
            + c["pirate_cargo"] * math.log1p(self.cargo_value() / 1000.0)
            - c["pirate_escape"] * escape
        )
        if self.rng.u() >= per_step_chance(sigmoid(logit), dt):
            return
        self.pirate_encounters += 1
        share = 1.0
        outcome = S.PIRATE_HIT
        if self.decoys > 0:
            self.decoys -= 1
            if self.rng.u() < c["decoy_evade"]:
                outcome = S.PIRATE_EVADED
            else:
                outcome, share = S.PIRATE_PARTIAL, 0.5
        loss = dmg = 0.0
        if outcome != S.PIRATE_EVADED:
            # Capped: pirates take at most the whole stack (loss + jitter may exceed 1).
            frac = mind(1.0, (c["pirate_loss"] + c["pirate_loss_jitter"] * self.rng.u()) * share)
            dmg = (c["pirate_hull"] + c["pirate_hull_jitter"] * self.rng.u()) * share
            for k in range(S.N_COMMODITIES):
                lost_raw = self.raw[k] * frac
                lost_ref = self.refined[k] * frac
                self.raw[k] = self.raw[k] - lost_raw
                self.refined[k] = self.refined[k] - lost_ref
                loss = loss + (lost_raw + c["refined_price"] * lost_ref) * self.price[k]
            self.value_lost = self.value_lost + loss
            self._damage(dmg)
        self._raise_alert(c["pirate_alert_rise"])
        self._event("pirate", a=outcome, x=loss, y=dmg)

    def _advance_cycles(self, ticks: int) -> None:
        for k in range(S.N_COMMODITIES):
            for _ in range(ticks):
                s, co = self.cycle_sin[k], self.cycle_cos[k]
                self.cycle_sin[k] = s * self.turn_cos[k] + co * self.turn_sin[k]
                self.cycle_cos[k] = co * self.turn_cos[k] - s * self.turn_sin[k]

    def _set_prices(self) -> None:
        c = self.config
        for k in range(S.N_COMMODITIES):
            p = (
                self.p0[k]
                + self.amplitude[k] * self.cycle_sin[k]
                - c["inventory_price"] * (self.inventory[k] - self.inventory_start[k])
                - c["recent_sales_price"] * self.recent_sales[k]
                + self.shock[k]
            )
            self.price[k] = clamp(p, self.price_min[k], self.price_max[k])

    # ----------------------------------------------------------- observation
    def _observation(self) -> np.ndarray:
        """docs/game.md#2-observation, field by field; every value clipped to its range, then float32."""
        obs = [0.0] * S.OBS_DIM
        node = self.nodes[self.node]
        volume = self.cargo_volume()
        obs[S.O_FUEL] = unit(self.fuel / S.FUEL_MAX)
        obs[S.O_HULL] = unit(self.hull / S.HULL_MAX)
        obs[S.O_HEAT] = unit(self.heat / S.HEAT_MAX)
        obs[S.O_TOOL] = unit(self.tool / S.TOOL_MAX)
        obs[S.O_CARGO] = unit(volume / S.CARGO_MAX)
        obs[S.O_ALERT] = unit(self.alert / S.ALERT_MAX)
        obs[S.O_TIME] = unit(float(self.time_remaining) / float(self.time_max))
        obs[S.O_CREDITS] = unit(math.log1p(maxd(self.credits, 0.0)) / LOG1P_CREDITS_CAP)
        for k in range(S.N_COMMODITIES):
            obs[S.O_CARGO_C + k] = unit((self.raw[k] + self.config["refined_volume"] * self.refined[k]) / S.CARGO_MAX)
        obs[S.O_KITS] = unit(self.kits / S.ITEM_CAP)
        obs[S.O_STABILIZERS] = unit(self.stabilizers / S.ITEM_CAP)
        obs[S.O_DECOYS] = unit(self.decoys / S.ITEM_CAP)
        obs[S.O_DOCKED] = 1.0 if self.docked else 0.0
        ast = self.selected_asteroid()
        obs[S.O_MINING] = 1.0 if ast is not None and ast.depletion < 1.0 else 0.0
        obs[S.O_NODE_TYPE + node.type] = 1.0
        obs[S.O_NODE_INDEX] = unit(self.node / (S.MAX_NODES - 1))
        obs[S.O_STEPS_TO_STATION] = unit(node.dist / (S.MAX_NODES - 1))

        mult = self.fuel_multiplier()
        for k, j in enumerate(node.neighbors):
            base = S.NEIGHBOR_BASE + S.NEIGHBOR_STRIDE * k
            other = self.nodes[j]
            obs[base + S.N_VALID] = 1.0
            obs[base + S.N_TYPE + other.type] = 1.0
            obs[base + S.N_TRAVEL] = unit(node.edge_time[k] / S.TRAVEL_TIME_NORM)
            obs[base + S.N_FUEL] = unit(node.edge_fuel[k] * mult / S.FUEL_COST_NORM)
            obs[base + S.N_THREAT] = unit(other.threat_est)

        for a, rock in enumerate(node.asteroids):
            base = S.ASTEROID_BASE + S.ASTEROID_STRIDE * a
            obs[base + S.A_VALID] = 1.0
            for k in range(S.N_COMMODITIES):
                obs[base + S.A_COMP + k] = unit(rock.comp_est[k])
            obs[base + S.A_STABILITY] = unit(rock.stability_est)
            obs[base + S.A_DEPLETION] = unit(rock.depletion)
            obs[base + S.A_CONF] = unit(rock.scan_conf)
            obs[base + S.A_SELECTED] = 1.0 if a == self.selected else 0.0

        for k in range(S.N_COMMODITIES):
            obs[S.O_PRICE + k] = unit(self.price[k] / self.price_max[k])
            delta = (self.price[k] - self.prev_price[k]) / (S.PRICE_DELTA_NORM * self.p0[k])
            obs[S.O_PRICE_DELTA + k] = clamp(delta, -1.0, 1.0)
        for i, k in enumerate(S.INVENTORY_COMMODITIES):
            obs[S.O_INVENTORY + i] = unit(self.inventory[k] / S.INVENTORY_NORM)
        return np.array(obs, dtype=np.float32)

    def _info_values(self) -> list[float]:
        """The per-step info, as doubles in spec.INFO_KEYS order (like the C core)."""
        elapsed = self.time_max - self.time_remaining
        net = self.credits - self.start_credits
        survival = 0.0 if self.end_reason in ("destroyed", "stranded") else 1.0
        return [
            self.credits,
            net,
            net / float(max(1, elapsed)),
            survival,
            float(self.overheat_ticks),
            float(self.pirate_encounters),
            self.value_lost,
            self.fuel_used,
            self.hull_damage,
            self.tool_wear,
            float(self.scan_count),
            float(self.mining_ticks),
            self.cargo_ticks / float(max(1, elapsed)),
            float(self.last_dt),
            1.0 if self.invalid else 0.0,
            float(self.time_remaining),
        ]

    def render_state(self) -> dict:
        from .state import render_state

        return render_state(self.snapshot())

    def snapshot(self) -> dict:
        """The whole state as plain data (same layout as the C core's snapshot)."""
        from .state import snapshot_reference

        return snapshot_reference(self)


TWO_PI = 2.0 * math.pi
LOG1P_CREDITS_CAP = math.log1p(S.CREDITS_CAP)


def unit(x: float) -> float:
    return clamp(x, 0.0, 1.0)


def sum_list(values) -> float:
    total = 0.0
    for v in values:
        total = total + v
    return total


def normalise(values: list[float]) -> list[float]:
    total = sum_list(values)
    return [v / total for v in values]
