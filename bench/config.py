"""The run configuration, each option declared once: its default, kind, help and checks live on the
RunConfig field; the CLI flags (`bench.cli`), the TOML keys (`bench.configfile`) and the Python API
(`bench.api`) are generated from these declarations and validated by RunConfig itself, so all
three accept and reject the same things."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from common.eps import NORMS, eps_text, parse_eps
from common.report_formats import run_formats
from common.text import attack_label, guess_in_parens, unknown_name_message

from .errors import BenchError

if TYPE_CHECKING:  # attacks imports torch: the config is checked before any heavy import
    from attacks import Budget

DEFAULT_MODELS = ("mini:resnet", "mini:densenet", "mini:vgg")
DEFAULT_ATTACKS = ("fgsm", "pgd", "vizpert")
MODES = {"both": (False, True), "untargeted": (False,), "targeted": (True,)}
AMP = ("none", "bf16")
EXECUTORS = ("local", "ray")  # the executor table (bench/executors.py) has exactly these names

# option kinds: how a value is given on the command line and what a TOML value must be
KINDS = {
    "str": ((str,), "a string"),
    "formats": ((str, list), "a comma list such as \"csv,html\" or a list of format names"),
    "choice": ((str,), "one of {choices}"),
    "int": ((int,), "an integer"),
    "ints": ((list, int), "an integer or a list of integers"),
    "names": ((list,), "a list of zoo names"),
    "attacks": ((list,), "a list of attack names or tables"),
    "eps": ((list, int, float, str), "a number, \"8/255\" or a list of them"),
    "switch": ((bool,), "true or false"),  # a flag that only turns something on (--fresh)
    "bool": ((bool,), "true or false"),  # --x / --no-x
    "checkpoints": ((dict,), "a table of zoo name = weights file"),
}


# the budget when none is given, per norm: on the quickstart (mini zoo, Fashion-MNIST) L2 1 is about as hard
# as Linf 0.1 (white-box PGD-10 99.6 / 96.4% on resnet / vgg against 100 / 100%), where L2 0.1 fooled 16 / 9%
DEFAULT_EPS = {"linf": 0.1, "l2": 1.0}

GRID, MODELS, FILES, WHERE = ("the grid (what a run computes)", "models", "run folder, data and cache",
                              "where and how it runs")


def option(default: Any, help: str, kind: str = "str", *, choices: tuple[str, ...] = (), low: int | None = None,
           record: bool = True, optional: bool = False, metavar: str | None = None, group: str = GRID) -> Any:
    """A RunConfig field with its declaration. `record`: part of the grid's identity (run.json and
    the manifest's config); the others say where a run reads and writes. `optional`: None allowed.
    `group`: the section of `bench run --help` it is listed in."""
    meta = {"help": help, "kind": kind, "choices": choices, "low": low, "record": record,
            "optional": optional, "metavar": metavar, "group": group}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class AttackSpec:
    """An attack by registry name with its parameters, shown in results under `label`; `sources`, when
    given, are the models this attack is run on instead of the run's sources (e.g. a cheap white-box
    attack on every defended model, an expensive one on a few)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    sources: tuple[str, ...] | None = None

    @property
    def display(self) -> str:
        """`label` if given, else the name, with parameters when there are any: pgd[steps=20]."""
        return attack_label(self.name, self.params, self.label)


def attack_spec(item: Any, where: str = "attacks") -> AttackSpec:
    """An attack given as a name, a name with parameters (`pgd[steps=20]`), an AttackSpec, or a table
    {name, label, **params}."""
    if isinstance(item, AttackSpec):
        return item
    if isinstance(item, str):
        return attack_spec(attack_table(item, where), where)
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        raise BenchError(f"{where} must be an attack name or a table with a 'name' key")
    params = {k: v for k, v in item.items() if k not in ("name", "label", "sources")}
    label = item.get("label", "")
    if not isinstance(label, str):
        raise BenchError(f"{where}.label must be a string")
    sources = item.get("sources")
    if sources is not None:
        sources = split_csv(sources) if isinstance(sources, str) else sources
        if not isinstance(sources, (list, tuple)) or not all(isinstance(s, str) for s in sources):
            raise BenchError(f"{where}.sources must be a list of zoo names")
        sources = tuple(sources)
    return AttackSpec(item["name"], params, label, sources)


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`: takes the groups whose index is `index - 1` modulo `count`."""

    index: int = 1
    count: int = 1

    def takes(self, group: Any) -> bool:
        return group.index % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str | None) -> Shard:
    """`i/n` with 1 <= i <= n, or a one-line error."""
    if text is None:
        return Shard()
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise BenchError(f"--shard {text!r} is not i/n with 1 <= i <= n; e.g. --shard 1/4 for the first of four")
    return Shard(int(m.group(1)), int(m.group(2)))


def ray_host_port(address: str | None) -> tuple[str, int] | None:
    """The (host, port) of a Ray address (host:port or ray://host:port), None for Ray's own None,
    "auto" and "local"; a one-line error otherwise."""
    if address in (None, "auto", "local"):
        return None
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    if not host or not port.isdigit():
        raise BenchError(f"--ray-address {address!r} is not host:port or ray://host:port; e.g. ray://head:10001")
    return host, int(port)


def split_csv(text: str) -> list[str]:
    """"a, b[x=1,y=2],,c" -> ["a", "b[x=1,y=2]", "c"]: how lists are written on the command line
    (a comma inside brackets separates an attack's parameters, not two items)."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch in "[(") - (ch in "])" and depth > 0)  # "(" too: a pgd(steps=20,alpha=0.01) gets its hint
        if ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [t.strip() for t in items if t.strip()]


def parse_value(text: str) -> Any:
    """A parameter value as written on the command line: true/false, none, an integer, a number or a
    fraction (2/255), else the text itself (a choice such as `perturb`)."""
    word = text.strip()
    if word.lower() in ("true", "false"):
        return word.lower() == "true"
    if word.lower() in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(word)
        except ValueError:
            pass
    m = re.fullmatch(r"(\d+(?:\.\d*)?)\s*/\s*(\d+(?:\.\d*)?)", word)
    if m and float(m.group(2)) != 0:
        return float(m.group(1)) / float(m.group(2))
    return word


def report_formats(text: str | None) -> tuple[str, ...]:
    """Report formats from `text` (`all` or a comma list), else $BENCH_FORMAT, else all
    (`common.report_formats`); a bad one, or none (","), is a one-line BenchError."""
    try:
        formats = run_formats(text)
    except ValueError as exc:
        raise BenchError(str(exc)) from None
    if not formats:
        raise BenchError("format is empty; give at least one report format, e.g. --format csv, or leave it out")
    return formats


def attack_table(text: str, where: str = "attacks") -> dict[str, Any]:
    """`pgd` or `pgd[steps=20,loss=ce]` (the label results show an attack under) as the table a TOML
    config would give: {"name": "pgd", "steps": 20, "loss": "ce"}; a one-line error when malformed."""
    text = text.strip()
    m = re.fullmatch(r"([^\[\]]+)\[(.*)\]", text, re.S)
    if m is None:
        if "[" in text or "]" in text:
            raise BenchError(f"{where} {text!r} has unmatched brackets; write name[key=value,...], e.g. pgd[steps=20]")
        return {"name": text}
    table: dict[str, Any] = {"name": m.group(1).strip()}
    for item in split_csv(m.group(2)):
        key, eq, value = (part.strip() for part in item.partition("="))
        if not eq or not key or not value:
            raise BenchError(f"{where} {text!r}: {item!r} is not key=value; write name[key=value,...], "
                             "e.g. pgd[steps=20]")
        if key in table:
            raise BenchError(f"{where} {text!r} gives {key!r} twice; give each parameter once")
        table[key] = parse_value(value)
    return table


@dataclass(frozen=True)
class RunConfig:
    """Every option of a run (the quickstart is the default). Values are normalised and checked on
    construction: lists become tuples, attacks AttackSpecs, eps floats; a bad value raises a
    one-line BenchError."""

    dataset: str = option("fashion-mnist", "dataset name (`bench list datasets`) or imagefolder:<folder>")
    models: tuple[str, ...] = option(DEFAULT_MODELS, "zoo model names (comma-separated on the command line)",
                                     "names")
    sources: tuple[str, ...] | None = option(None, "the models attacks are run on (white-box, then transferred to "
                                             "every model); a subset of --models (default: all of them)", "names",
                                             optional=True)
    attacks: tuple[AttackSpec, ...] = option(tuple(AttackSpec(a) for a in DEFAULT_ATTACKS),
                                             "attack names, with parameters as name[key=value,...] (e.g. "
                                             "pgd[steps=20],fgsm; tables in TOML)",
                                             "attacks")
    # None until __post_init__: the norm's DEFAULT_EPS
    eps: tuple[float, ...] = option(None, "budgets on the [0, 1] scale, e.g. 0.1,8/255 (default 0.1 for linf, "
                                    "1 for l2)", "eps", optional=True)
    norm: str = option("linf", "the budget's norm", "choice", choices=NORMS)
    mode: str = option("both", "untargeted, targeted or both", "choice", choices=tuple(MODES), record=False)
    n: int = option(1000, "eval images (from the test split)", "int", low=1)
    n_fit: int = option(1000, "fit images for attacks that learn (from the train split)", "int", low=1)
    seed: int = option(0, "seed of splits, targets, fits and random starts", "int")
    seeds: tuple[int, ...] | None = option(None, "attack seeds: repeat every attack with each seed's fits and random "
                                           "starts, on the same images, e.g. 0,1,2 (default: --seed alone)", "ints",
                                           optional=True)
    zoo_seed: int = option(0, "which trained copy of the mini zoo (`bench zoo train --seed`)", "int", low=0)
    batch_size: int = option(250, "images per batch", "int", low=1, group=WHERE)
    device: str = option("auto", "auto, cpu, cuda or cuda:<i>", group=WHERE)
    output: str = option("reports/runs", "folder that receives the run folder", record=False, group=FILES)
    run_id: str | None = option(None, "run folder name; an existing one is resumed (its missing cells computed)",
                                record=False, optional=True, group=FILES)
    data_dir: str | None = option(None, "folder with the dataset files (else $BENCH_DATA, the Debian path)",
                                  record=False, optional=True, group=FILES)
    download: bool = option(False, "download the dataset with torchvision if not found", "switch", record=False,
                            group=FILES)
    cache_dir: str | None = option(None, "weights and fits cache (default $BENCH_CACHE or ~/.cache/vizpert-bench)",
                                   record=False, optional=True, group=FILES)
    fresh: bool = option(False, "discard the results already in the --run-id folder and start over", "switch",
                         record=False, group=FILES)
    dry_run: bool = option(False, "print the grid (cells, stored ones, rough cost) and exit without computing",
                           "switch", record=False, group=FILES)
    format: str | None = option(None, "reports written after the run: all or a comma list of csv,latex,markdown,"
                                "plots,html,pdf (default $BENCH_FORMAT, else all; BENCH_PDF=0 leaves out the PDF)",
                                "formats", record=False, optional=True, group=FILES)
    shard: str | None = option(None, "i/n: compute only the i-th of n disjoint shares of the grid (then "
                               "`bench merge`)", record=False, optional=True, group=FILES)
    pretrained: bool = option(False, "timm: models load pretrained weights from the local Hugging Face cache",
                              "bool", group=MODELS)
    checkpoints: dict[str, str] = option({}, "weights file (safetensors or weights-only torch) for a timm model; "
                                         "repeatable", "checkpoints", metavar="MODEL=PATH", group=MODELS)
    amp: str = option("none", "run the models under bf16 autocast", "choice", choices=AMP, group=MODELS)
    channels_last: bool = option(False, "NHWC memory layout for the models", "bool", group=MODELS)
    compile: bool = option(False, "run the models through torch.compile (inductor; compiled on first use; on the "
                           "quickstart its rates differed from eager's, see the README)", "bool", group=MODELS)
    workers: int | None = option(None, "image decoding processes for imagefolder: data (default: up to 8; "
                                 "0: in the main process)", "int", low=0, optional=True, group=WHERE)
    executor: str = option("local", "local: groups one after another here; ray: each group a Ray task",
                           "choice", choices=EXECUTORS, group=WHERE)
    ray_address: str | None = option(None, "Ray cluster for --executor ray (default: start a local instance)",
                                     optional=True, group=WHERE)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "models", tuple(split_csv(self.models) if isinstance(self.models, str) else self.models))
        if self.sources is not None:
            set_(self, "sources", tuple(split_csv(self.sources) if isinstance(self.sources, str) else self.sources))
        attacks = split_csv(self.attacks) if isinstance(self.attacks, str) else self.attacks
        set_(self, "attacks", tuple(attack_spec(a, f"attacks[{i}]") for i, a in enumerate(attacks)))
        eps = (DEFAULT_EPS.get(self.norm, DEFAULT_EPS["linf"]),) if self.eps is None else self.eps
        eps = split_csv(eps) if isinstance(eps, str) else eps
        eps = [eps] if isinstance(eps, (int, float)) else eps
        try:
            set_(self, "eps", tuple(parse_eps(e) for e in eps))
        except ValueError as exc:
            raise BenchError(str(exc)) from None
        set_(self, "checkpoints", dict(self.checkpoints))
        if isinstance(self.format, (list, tuple)) and all(isinstance(f, str) for f in self.format):
            set_(self, "format", ",".join(self.format))  # the API's and TOML's list, as the flag's comma list
        if self.seeds is not None:
            set_(self, "seeds", _int_list("seeds", self.seeds))
        for f in fields(self):
            _check(f.name, getattr(self, f.name), f.metadata)
        self._check_together()

    def _check_together(self) -> None:
        if not self.eps:
            raise BenchError("eps is empty; give at least one budget, e.g. --eps 0.1")
        for e in self.eps:
            if e <= 0 or (self.norm == "linf" and e >= 1):
                bound = "0 < eps < 1" if self.norm == "linf" else "eps > 0"
                raise BenchError(f"eps {e:g} is out of range for {self.norm}; use {bound} on the [0, 1] pixel scale")
        if len(set(self.eps)) < len(self.eps):
            raise BenchError(f"eps {','.join(eps_text(e) for e in self.eps)} repeats a budget; list each eps once")
        if not self.models:
            raise BenchError("models is empty; list at least one zoo model, e.g. --models mini:resnet")
        if not self.attacks:
            raise BenchError("attacks is empty; list at least one attack, e.g. --attacks pgd")
        if self.sources is not None:
            self._check_sources("sources", self.sources)
        for spec in self.attacks:
            if spec.sources is not None:
                self._check_sources(f"{spec.display}'s sources", spec.sources)
        if self.ray_address and self.executor != "ray":
            raise BenchError("--ray-address is for --executor ray; add --executor ray or drop the address")
        ray_host_port(self.ray_address)
        for name in self.checkpoints:
            if name not in self.models:
                raise BenchError(f"a checkpoint is given for {name}, which is not in --models "
                                 f"({', '.join(self.models)}); name a model of the run")
        if self.seeds is not None:
            if not self.seeds:
                raise BenchError("seeds is empty; give at least one, e.g. --seeds 0,1,2, or leave it out")
            if len(set(self.seeds)) < len(self.seeds):
                raise BenchError(f"seeds {','.join(map(str, self.seeds))} repeats a seed; list each seed once")
        if self.run_id is not None and (not self.run_id or self.run_id.startswith(".")  # ".", "..", hidden
                                        or any(sep in self.run_id for sep in "/\\")):
            raise BenchError(f"run id {self.run_id!r} is not a folder name; --run-id names a folder inside --output "
                             f"({self.output}), and --output puts runs elsewhere")
        parse_shard(self.shard)
        report_formats(self.format)  # a bad or empty format (or $BENCH_FORMAT) fails here, before anything is computed

    def _check_sources(self, what: str, sources: tuple[str, ...]) -> None:
        if not sources:
            raise BenchError(f"{what} is empty; list at least one model of --models, or leave it out")
        stray = [s for s in sources if s not in self.models]
        if stray:
            raise BenchError(f"{what}: {stray[0]} is not in --models ({', '.join(self.models)}); sources are "
                             "the models of the run that attacks are computed on")
        if len(set(sources)) < len(sources):
            raise BenchError(f"{what} {','.join(sources)} repeats a model; list each once")

    # ------------------------------------------------------------------ derived
    @property
    def targeted(self) -> tuple[bool, ...]:
        """The targeted modes of the grid: (False,), (True,) or (False, True)."""
        return MODES[self.mode]

    @property
    def report_formats(self) -> tuple[str, ...]:
        """The formats `bench run` writes: `format`, else $BENCH_FORMAT, else all."""
        return report_formats(self.format)

    @property
    def source_models(self) -> tuple[str, ...]:
        """The models attacks are computed on: `sources`, or every model."""
        return self.sources if self.sources is not None else self.models

    def sources_of(self, spec: AttackSpec) -> tuple[str, ...]:
        """The models `spec` is run on: its own `sources`, else the run's."""
        return spec.sources if spec.sources is not None else self.source_models

    @property
    def all_sources(self) -> tuple[str, ...]:
        """Every model some attack runs on: the run's sources, then attack-specific ones in models order
        (the order of the tables' source rows)."""
        extra = {s for spec in self.attacks for s in (spec.sources or ())} - set(self.source_models)
        return self.source_models + tuple(m for m in self.models if m in extra)

    @property
    def attack_seeds(self) -> tuple[int, ...]:
        """The seeds each attack runs with (fits, random starts): `seeds`, or `seed` alone."""
        return self.seeds if self.seeds is not None else (self.seed,)

    def budgets(self) -> list[Budget]:
        from attacks import Budget

        return [Budget(self.norm, e) for e in self.eps]

    def shard_spec(self) -> Shard:
        return parse_shard(self.shard)

    def to_dict(self) -> dict[str, Any]:
        """The recorded options (what the grid computes, not where it reads and writes), as in
        run.json and the manifest."""
        out = {f.name: v for f, v in zip(fields(self), asdict(self).values()) if f.metadata["record"]}
        for a in out["attacks"]:  # run folders written before per-attack sources still resume
            if a["sources"] is None:
                del a["sources"]
        out["targeted"] = self.targeted
        return out

    def fits(self) -> bool:
        """Whether any attack of the grid learns from the fit split (a generator, a universal delta)."""
        import attacks

        return any(attacks.create(spec.name, **spec.params).learns for spec in self.attacks)

    def check_names(self) -> list[str]:
        """Fail on a bad dataset, model or attack name, a budget an attack cannot take, a checkpoint for a
        model that takes none, or a mode that leaves out every attack, before any data is loaded or model
        trained. Returns one line per attack the grid's mode leaves out (an untargeted-only one under
        --mode targeted, or the reverse): the warnings of the run and the dry run."""
        import attacks
        import zoo

        from .data import DATASETS

        if self.dataset not in DATASETS and not self.dataset.startswith("imagefolder:"):
            raise BenchError(unknown_name_message("dataset", self.dataset, DATASETS, "bench list datasets"))
        for name in self.models:
            zoo.validate_name(name)
            if self.models.count(name) > 1:
                raise BenchError(f"model {name} is listed twice in --models; list each model once")
        for name in self.checkpoints:
            zoo.check_checkpoint_target(name)
        labels = [spec.display for spec in self.attacks]
        left_out = []
        for spec in self.attacks:
            attack = attacks.create(spec.name, **spec.params)
            for budget in self.budgets():
                attack.check_budget_supported(budget)
            if labels.count(spec.display) > 1:
                raise BenchError(f"attack {spec.display!r} is listed twice; give each variant its own label")
            if not any(attack.runs_in(t) for t in self.targeted):
                only = "targeted" if attack.supports_targeted else "untargeted"
                left_out.append(f"{spec.display} is {only} only, so --mode {self.mode} leaves it out "
                                f"(--mode {only} or both runs it)")
        if len(left_out) == len(self.attacks):
            raise BenchError(f"no attack has cells in --mode {self.mode}: {'; '.join(left_out)}")
        return left_out


OPTIONS: dict[str, Any] = {f.name: f for f in fields(RunConfig)}
# names other attack tools give these options (a closeness guess misses them: targeted is not like mode)
OTHER_NAMES = {"targeted": "mode", "untargeted": "mode", "epsilon": "eps", "epsilons": "eps", "model": "models",
               "attack": "attacks", "num_images": "n", "n_eval": "n", "n_images": "n", "batch": "batch_size",
               "out": "output", "output_dir": "output", "formats": "format"}


def unknown_option_message(kind: str, name: str) -> str:
    """One line for an option name that is not one: the option another tool's name stands for
    (`targeted` -> mode), else close names; and where all are listed."""
    known = OTHER_NAMES.get(name)
    if known is None:
        return unknown_name_message(kind, name, OPTIONS, "bench run --help")
    choices = f" ({', '.join(OPTIONS[known].metadata['choices'])})" if OPTIONS[known].metadata["choices"] else ""
    return f"unknown {kind} {name!r}; did you mean {known!r}{choices}? (`bench run --help` shows all)"


def _int_list(name: str, value: Any) -> tuple[int, ...]:
    """An integer, a list of integers or "0,1,2" as a tuple of ints, else a one-line error."""
    items = split_csv(value) if isinstance(value, str) else [value] if isinstance(value, int) else value
    out = []
    for item in items if isinstance(items, (list, tuple)) else [items]:
        if isinstance(item, bool):
            item = None
        try:
            out.append(int(item) if isinstance(item, (int, str)) else int("x"))
        except ValueError:
            raise BenchError(f"{name} must be integers, e.g. --{name} 0,1,2; got {item!r}") from None
    return tuple(out)


def _check(name: str, value: Any, meta: Mapping[str, Any]) -> None:
    """One option's own checks (type, choices, lower bound), one line on failure."""
    if value is None and meta["optional"]:
        return
    kind = meta["kind"]
    flag = "--" + name.replace("_", "-")
    if kind == "choice" and value not in meta["choices"]:
        raise BenchError(f"{name} {value!r}{guess_in_parens(str(value), meta['choices'])} is not one of "
                         f"{', '.join(meta['choices'])}")
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            plural = f"; several go in {name}s" if isinstance(value, (list, tuple)) and f"{name}s" in OPTIONS else ""
            raise BenchError(f"{name} ({flag}) must be an integer, got {value!r}{plural}")
        if meta["low"] is not None and value < meta["low"]:
            what = "a positive integer" if meta["low"] == 1 else f"{meta['low']} or more"
            raise BenchError(f"{name} ({flag}) must be {what}, got {value}")
    if kind in ("switch", "bool") and not isinstance(value, bool):
        raise BenchError(f"{name} ({flag}) must be true or false, got {value!r}")
    if kind in ("str", "formats") and not isinstance(value, str):
        raise BenchError(f"{name} ({flag}) must be {KINDS[kind][1]}, got {value!r}")
    if kind == "names" and not all(isinstance(m, str) for m in value):
        raise BenchError(f"{name} must be a list of zoo names (strings)")
    if kind == "checkpoints":
        for model, path in value.items():
            if not isinstance(path, str):
                raise BenchError(f"checkpoints.{model!r} must be a file path (string), got {type(path).__name__}")


def toml_type(name: str) -> tuple[tuple[type, ...], str]:
    """What a TOML value of option `name` must be: accepted types and the words for them."""
    meta = OPTIONS[name].metadata
    types, words = KINDS[meta["kind"]]
    if meta["kind"] == "choice":
        words = "\"" + "\", \"".join(meta["choices"]) + "\""
    return types, words


def iter_options() -> Iterable[tuple[str, Mapping[str, Any], Any]]:
    """(name, declaration, default) of every option, in declaration order."""
    for f in fields(RunConfig):
        default = f.default_factory() if callable(f.default_factory) else f.default  # type: ignore[misc]
        yield f.name, f.metadata, default
