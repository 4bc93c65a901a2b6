"""What every `kzoo` command shares: argument types, `--set`, output checks, and writing the results."""

import argparse
import ast
import inspect
import math
import os
import shlex


def positive_int(text):
    """argparse type: an integer >= 1 (`--steps 0` and `--steps -1` fail here, before any work)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, received {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, received {text!r}")
    return value


def positive_float(text):
    """argparse type: a finite number > 0 (`--learning-rate nan` fails here)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, received {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, received {text!r}")
    return value


def ways_range(text):
    """argparse type: `MIN-MAX`, two integers 1 <= MIN <= MAX (`--variable-ways 5-50`)."""
    low, _, high = text.partition("-")
    try:
        low, high = int(low), int(high)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN-MAX, e.g. 5-50, received {text!r}") from None
    if not 1 <= low <= high:
        raise argparse.ArgumentTypeError(f"expected MIN-MAX with 1 <= MIN <= MAX, received {text!r}")
    return low, high


class Parser(argparse.ArgumentParser):
    """Usage errors in one line (`kzoo fit: error: ...`) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def literal(text):
    """`"(256, 256)"` -> `(256, 256)`, `"0.1"` -> `0.1`; anything else stays a string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def constructor_arguments(cls, base, items):
    """`base` (the arguments the data decides) updated by `--set NAME=VALUE` items, checked against `cls`."""
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")]
    kwargs = {k: v for k, v in base.items() if k in accepted}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in accepted:
            raise ValueError(f"Expected --set NAME=VALUE with NAME an argument of {cls.__name__} "
                             f"({', '.join(accepted)}). Received: {item!r}.")
        kwargs[key] = literal(value)
    return kwargs


def adam(learning_rate, warmup_steps=None):
    """Adam at `learning_rate`, linearly warmed up over `warmup_steps` when given."""
    import keras

    if warmup_steps:
        from kzoo.training.schedules import LinearWarmup

        learning_rate = LinearWarmup(learning_rate, warmup_steps)
    return keras.optimizers.Adam(learning_rate)


def next_version(directory):
    """The next TF Serving version number under `directory` (1 for a new one)."""
    versions = [int(p) for p in os.listdir(directory) if p.isdigit()] if os.path.isdir(directory) else []
    return max(versions, default=0) + 1


def check_outputs(args):
    """Fails on a bad --save-preset / --export / --logdir before any training is spent."""
    from kzoo.files import check_writable_folder
    from kzoo.presets import check_preset_target

    if args.save_preset:
        check_preset_target(args.save_preset, overwrite=args.overwrite)
    if args.export:
        check_writable_folder(args.export, what="--export folder")
    if getattr(args, "logdir", None):
        check_writable_folder(args.logdir, what="--logdir folder")


def save_outputs(model, args, record, default_description):
    """Writes the --save-preset folder (metadata = the command and `record`) and the --export version."""
    from kzoo.export import export_serving

    if args.save_preset:
        metadata = {"description": args.description or default_description,
                    "command": "kzoo " + " ".join(shlex.quote(a) for a in args.argv),
                    "data_spec": args.data, **record}
        print(f"preset: {model.save_to_preset(args.save_preset, metadata, overwrite=args.overwrite)}")
    if args.export:
        print(f"serving export: {export_serving(model, args.export, version=next_version(args.export))}")


def reject_unused(args, parser_defaults, used, application, command="fit"):
    """Raises a `ValueError` naming any option set away from its default that `application` does not take."""
    unused = [name for name, default in parser_defaults.items()
              if name not in used and getattr(args, name, default) != default]
    if unused:
        options = ", ".join("--" + name.replace("_", "-") for name in sorted(unused))
        raise ValueError(f"Expected only options that {application} uses. Received: {options} "
                         f"(see `kzoo {command} --help`).")
