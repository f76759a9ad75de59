"""Replay a suite's durations on N simulated CI nodes and compare three
ways to split it: by name (contiguous chunks of the sorted ids, what a
regex per job gives), the static timing split of ``testr run --shard``
and the build queue of ``testr run --queue`` (its lease policy is
imported from ``testrepo/scheduler/build_queue.py``, so the simulation
follows the code).

    python benchmarks/fleet_replay.py [--repo URL] [--nodes 4,10,20,50,100]
        [--workers 2] [--builds 5] [--spread 0.25] [--node-spread 0.1]
        [--start-skew 20] [--new 0.05] [--seed 1]

The durations: with ``--repo``, every duration each test has in the
repository's runs (its latest one is the estimate the schedulers see;
one build draws each test's real time from its recorded ones, or, with
fewer than three, from the estimate times a log-normal factor of
``--spread``); without, a synthetic suite (8,000 tests, log-normal with a
heavy tail, about four hours in all).  A fraction ``--new`` of the tests
has no history (the schedulers estimate them; their real time is drawn
like the others').  Each node starts up to ``--start-skew`` seconds late
and runs at a speed drawn with ``--node-spread`` (noisy CI machines).

Within a node, name and static splits run their part on ``--workers``
workers longest-first (the local queue).  The queue: every worker leases
from one list, longest first, batches sized by ``lease_target``; a lease
is one transaction of ``--latency`` seconds.  Transactions counted: the
plan, every lease (including the empty ones that end a worker), each
node's heartbeat every ``--ttl``/3 s, the polls of a node that waits for
the others' leases (``poll_seconds``), and one finish
per node.

Prints one markdown table: medians over ``--builds`` simulated builds.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
import sys
from typing import Dict, List, Sequence, Tuple

from testrepo.scheduler import build_queue, shards

Suite = List[Tuple[str, float, Tuple[float, ...]]]  # test id, estimate, recorded samples


def synthetic_suite(rng: random.Random, tests: int = 8000) -> Suite:
    """Log-normal durations (median 0.5 s, a heavy tail capped at 90 s),
    modules of 40 tests whose slowness is correlated (integration
    modules), about four hours in all."""
    suite = []
    for module in range(tests // 40):
        module_scale = rng.lognormvariate(0.0, 1.0)
        for test in range(40):
            seconds = min(90.0, 0.5 * module_scale * rng.lognormvariate(0.0, 1.2))
            suite.append((f"pkg.test_m{module:04d}.T.test_{test:02d}", seconds, ()))
    return suite


def repository_suite(url: str) -> Suite:
    """Every test's latest duration and all its recorded ones."""
    from testrepo import repository

    repo = repository.open_repository(url)
    samples: Dict[str, List[float]] = {}
    for record in repo.runs():
        for test_id, seconds in repo.run_durations(record.run_id).items():
            samples.setdefault(test_id, []).append(seconds)
    latest = repo.durations()
    return [(test_id, latest.get(test_id, values[-1]), tuple(values))
            for test_id, values in sorted(samples.items())]


def draw_build(suite: Suite, rng: random.Random, spread: float, new: float):
    """(estimates the schedulers see, real seconds) for one build."""
    sigma = math.sqrt(math.log(1 + spread ** 2))
    estimates, actual = {}, {}
    for test_id, estimate, samples in suite:
        if len(samples) >= 3:
            actual[test_id] = rng.choice(samples)
        else:
            actual[test_id] = estimate * rng.lognormvariate(-sigma ** 2 / 2, sigma)
        if rng.random() >= new:
            estimates[test_id] = estimate
    return estimates, actual


def run_locally(test_ids: Sequence[str], estimates, actual, workers: int, start: float,
                speed: float) -> float:
    """A node's finish time: its tests longest-first on ``workers``."""
    default = statistics.median(estimates.values()) if estimates else 1.0
    ordered = sorted(test_ids, key=lambda t: -estimates.get(t, default))
    free = [start] * workers
    for test_id in ordered:
        soonest = heapq.heappop(free)
        heapq.heappush(free, soonest + actual[test_id] * speed)
    return max(free)


def name_split(test_ids: List[str], nodes: int) -> List[List[str]]:
    ordered = sorted(test_ids)
    size = -(-len(ordered) // nodes)
    return [ordered[i * size:(i + 1) * size] for i in range(nodes)]


def static_makespan(parts, estimates, actual, workers, starts, speeds) -> float:
    return max(run_locally(part, estimates, actual, workers, starts[n], speeds[n])
               for n, part in enumerate(parts))


def queue_build(test_ids, estimates, actual, workers, starts, speeds, args) -> dict:
    """The queue: every worker of every node leases from one list."""
    items = build_queue.plan_items(test_ids, estimates)
    remaining = sum(item.estimate for item in items)
    longest = max((item.estimate for item in items), default=0.0)
    front, leases, empty, work = 0, 0, 0, 0.0
    nodes = len(starts)
    free = [(starts[n], n, w) for n in range(nodes) for w in range(workers)]
    heapq.heapify(free)
    finish = list(starts)
    joined = sorted(starts)
    while free:
        now, node, worker = heapq.heappop(free)
        if front == len(items):
            empty += 1
            finish[node] = max(finish[node], now)
            continue
        fleet = workers * sum(1 for start in joined if start <= now)
        target = build_queue.lease_target(remaining, fleet, longest)
        count = build_queue.lease_count([(i.estimate, i.timed) for i in items[front:front + 400]],
                                        target)
        taken, front = items[front:front + count], front + count
        remaining -= sum(item.estimate for item in taken)
        seconds = sum(actual[t] for item in taken for t in item.test_ids) * speeds[node]
        leases += 1
        work += seconds
        heapq.heappush(free, (now + args.latency + seconds, node, worker))
    makespan = max(finish)
    beats = sum((makespan - start) / build_queue.heartbeat_seconds(args.ttl) for start in starts)
    polls = sum((makespan - done) / build_queue.poll_seconds(args.ttl) for done in finish)
    transactions = 1 + leases + empty + beats + polls + nodes
    return {"makespan": makespan, "leases": leases, "per_lease": work / leases,
            "tx_per_s": transactions / makespan, "spread": makespan - min(finish)}


def simulate(suite: Suite, nodes: int, args, rng: random.Random) -> dict:
    estimates, actual = draw_build(suite, rng, args.spread, args.new)
    test_ids = [test_id for test_id, _, _ in suite]
    starts = [rng.uniform(0, args.start_skew) for _ in range(nodes)]
    speeds = [rng.lognormvariate(0.0, args.node_spread) for _ in range(nodes)]
    lower = max(sum(actual.values()) / (nodes * args.workers), max(actual.values()))
    timing_parts = shards.split(test_ids, nodes, estimates)
    result = {
        "lower": lower,
        "name": static_makespan(name_split(test_ids, nodes), estimates, actual,
                                args.workers, starts, speeds),
        "static": static_makespan(timing_parts, estimates, actual, args.workers, starts,
                                  speeds),
    }
    queue = queue_build(test_ids, estimates, actual, args.workers, starts, speeds, args)
    result.update({"queue": queue.pop("makespan"), **queue})
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", help="a repository URL or path to take durations from")
    parser.add_argument("--nodes", default="4,10,20,50,100")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--builds", type=int, default=5)
    parser.add_argument("--spread", type=float, default=0.25)
    parser.add_argument("--node-spread", type=float, default=0.1)
    parser.add_argument("--start-skew", type=float, default=20.0)
    parser.add_argument("--new", type=float, default=0.05)
    parser.add_argument("--latency", type=float, default=0.005)
    parser.add_argument("--ttl", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    suite = repository_suite(args.repo) if args.repo else synthetic_suite(rng)
    total = sum(estimate for _, estimate, _ in suite)
    print(f"{len(suite)} tests, {total:.0f} s recorded, longest "
          f"{max(e for _, e, _ in suite):.1f} s; {args.workers} workers per node, "
          f"spread {args.spread}, node spread {args.node_spread}, start skew "
          f"{args.start_skew} s, {args.new:.0%} untimed; medians of {args.builds} builds\n")
    print("| nodes | lower bound s | name s | static s | queue s | queue/static | "
          "queue/name | leases | s per lease | tx/s | queue finish spread s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for nodes in [int(n) for n in args.nodes.split(",")]:
        runs = [simulate(suite, nodes, args, rng) for _ in range(args.builds)]

        def median(key):
            return statistics.median(run[key] for run in runs)

        print(f"| {nodes} | {median('lower'):.0f} | {median('name'):.0f} | "
              f"{median('static'):.0f} | {median('queue'):.0f} | "
              f"{median('queue') / median('static'):.2f} | "
              f"{median('queue') / median('name'):.2f} | {median('leases'):.0f} | "
              f"{median('per_lease'):.1f} | {median('tx_per_s'):.1f} | "
              f"{median('spread'):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
