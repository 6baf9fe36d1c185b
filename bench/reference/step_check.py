"""The same-computation check of the cifar-step references (`--check FILE`): the losses of the
steps rgan recorded (`rgan bench cifar-step --write-check DIR`), recomputed by a reference from
rgan's weights and inputs, compared with rgan's."""
import sys

NAMES = ("g_loss", "d_loss", "gradient_penalty")


def compare_recorded_losses(args, arrays, run_step, label):
    """`run_step(k)` gives the reference's (g_loss, d_loss, gradient_penalty) of recorded step k
    as floats. Prints every difference, exits 1 when one is over its tolerance, and returns the
    summary for the JSON result."""
    # [before any update (the first generator loss), after an update (every other loss)]
    worst, ok, steps = [0.0, 0.0], True, arrays["g_loss"].shape[0]
    for k in range(steps):
        ours = run_step(k)
        # Differences relative to the step's largest loss: the discriminator loss is a difference
        # of terms of that size, and can be near 0.
        scale = max(max(abs(float(arrays[name][k])) for name in NAMES), 1e-12)
        for name, mine in zip(NAMES, ours):
            theirs = float(arrays[name][k])
            rel = abs(mine - theirs) / scale
            after = int(k > 0 or name != "g_loss")
            worst[after] = max(worst[after], rel)
            ok = ok and rel <= (args.check_rtol_later if after else args.check_rtol)
            print(f"check step {k + 1} {name}: {label} {mine:.9g}, rgan {theirs:.9g}, "
                  f"difference {rel:.2e} of the largest", file=sys.stderr)
    print(f"check: {'same' if ok else 'DIFFERENT'} losses over {steps} steps (of the step's largest "
          f"loss: {worst[0]:.2e} before any update, tolerance {args.check_rtol:g}; at most {worst[1]:.2e} after "
          f"an update, tolerance {args.check_rtol_later:g})", file=sys.stderr, flush=True)
    if not ok:
        sys.exit(1)
    return {"steps": int(steps), "difference_before_update": worst[0], "max_difference_after_update": worst[1],
            "ok": ok}
