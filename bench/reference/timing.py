"""The timing loop every step reference shares: `warmup` untimed calls, then `iters` timed ones
in milliseconds, reported by their median (as rgan's `bench` reports its own)."""
import statistics
import time


def times_ms(iteration, warmup, iters):
    """Wall times of `iters` calls of `iteration()` in ms, after `warmup` untimed calls."""
    for _ in range(warmup):
        iteration()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        iteration()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def median_ms(iteration, warmup, iters):
    """The median of `times_ms(iteration, warmup, iters)`."""
    return statistics.median(times_ms(iteration, warmup, iters))
