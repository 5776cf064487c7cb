"""What the fit cache holds, and removing fits from it (`bench cache list|prune`), without importing torch.

Each fit is `<key>.safetensors` plus its card `<key>.json` under `<cache>/fitted/` (`bench.fitcache`);
the card's modification time is when the fit was last used. Fits only grow: one VizPert fit on
ImageNet's 1000 classes is 0.7 GB. A half pair (a run killed between its two writes, a file removed
by hand) can never be read, and a write's temporary file left by a killed run is dead weight once it
is a day old: pruning removes both whatever its filters say.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from common.files import read_json_object
from common.text import age_text, aligned, did_you_mean, param_text, size_text

from .errors import BenchError

FITTED = "fitted"
STALE_TEMPORARY_SECONDS = 86400  # a write takes seconds; an older temporary file belongs to a killed run


@dataclass(frozen=True)
class FitEntry:
    """One fit in the cache: its key, files, card (None when a half of the pair is missing), bytes on
    disk and when it was last used (seconds since the epoch)."""

    key: str
    files: tuple[Path, ...]
    card: dict[str, Any] | None
    size: int
    last_used: float

    @property
    def attack(self) -> str:
        return str(self.card.get("attack", "?")) if self.card else "?"


def fit_entries(cache: Path) -> list[FitEntry]:
    """Every fit under `cache/fitted`, complete or not, the most recently used first."""
    folder = cache / FITTED
    if not folder.is_dir():
        return []
    keys = sorted({p.stem for p in folder.iterdir()
                   if p.suffix in (".json", ".safetensors") and not p.name.startswith(".")})
    entries = []
    for key in keys:
        files = tuple(p for p in (folder / f"{key}.safetensors", folder / f"{key}.json") if p.is_file())
        card = read_json_object(folder / f"{key}.json") if len(files) == 2 else None
        entries.append(FitEntry(key, files, card, sum(p.stat().st_size for p in files),
                                files[-1].stat().st_mtime))  # the card's time when there is one
    return sorted(entries, key=lambda e: -e.last_used)


def stale_temporaries(cache: Path, now: float) -> list[Path]:
    """Temporary files of writes (`common.files.atomic_write_bytes`) older than a day: left by killed runs."""
    folder = cache / FITTED
    if not folder.is_dir():
        return []
    return [p for p in folder.glob(".*.tmp") if now - p.stat().st_mtime > STALE_TEMPORARY_SECONDS]


def select(entries: list[FitEntry], *, attacks: Iterable[str] = (), older_than_days: float | None = None,
           now: float) -> list[FitEntry]:
    """The fits to prune: incomplete ones always; complete ones of one of `attacks` (all when empty) and
    not used for `older_than_days` (any age when None). An attack name no fit has is a one-line error."""
    attacks = list(attacks)
    held = sorted({e.attack for e in entries if e.card})
    for name in attacks:
        if name not in held:
            raise BenchError(f"the fit cache holds no fit of attack {name!r}{did_you_mean(name, held, n=1)} "
                             f"(it holds: {', '.join(held) or 'none'}; `bench cache list` shows them)")
    if older_than_days is not None and older_than_days < 0:
        raise BenchError(f"--older-than takes a number of days >= 0, got {older_than_days:g}")
    chosen = []
    for e in entries:
        if e.card is None:
            chosen.append(e)
        elif (not attacks or e.attack in attacks) and (
                older_than_days is None or now - e.last_used > older_than_days * 86400):
            chosen.append(e)
    return chosen


def remove(entries: list[FitEntry], temporaries: list[Path]) -> int:
    """Delete the entries' files and the temporaries; the bytes freed. A file already gone (another
    prune, a run refitting it) counts for nothing."""
    freed = 0
    for path in [p for e in entries for p in e.files] + list(temporaries):
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue
        freed += size
    return freed


def entries_table(entries: list[FitEntry], now: float) -> str:
    """One aligned line per fit: key, attack, budget, what it is for (dataset, source model, the run's seed;
    cards written before `fit_for` existed show "-"), size, fit seconds, last used and the setup that fitted it."""
    header = ("key", "attack", "budget", "for", "size", "fit", "used", "fitted on")
    rows = [header]
    for e in entries:
        card = e.card or {}
        budget = card.get("budget") or ["", ""]
        for_ = card.get("fit_for") or {}
        seed = (f"seed {for_['attack_seed']}" if "attack_seed" in for_  # the run's seed, as --seed/--seeds give it
                else f"fit seed {for_['seed']}" if "seed" in for_  # a card from before attack_seed: the derived one
                else None)
        target = " ".join(str(v) for v in (for_.get("dataset"), for_.get("source"), seed) if v is not None)
        rows.append((e.key, e.attack if e.card else "(incomplete)",
                     f"{budget[0]} {param_text(budget[1])}" if e.card else "-", target or "-",
                     size_text(e.size), f"{card['fit_seconds']:.1f} s" if "fit_seconds" in card else "-",
                     f"{age_text(now - e.last_used)} ago", (card.get("meta") or {}).get("fit_machine") or "-"))
    return aligned(rows)


def cache_summary(cache: Path, now: float | None = None) -> str:
    """`bench cache list`: the fits with a total line, and the zoo's weights in one line."""
    now = time.time() if now is None else now
    entries = fit_entries(cache)
    temporaries = stale_temporaries(cache, now)
    total = sum(e.size for e in entries)
    lines = [f"fit cache {cache / FITTED}: {len(entries)} fit{'s' * (len(entries) != 1)}, {size_text(total)}"]
    if entries:
        lines += ["", entries_table(entries, now)]
    incomplete = sum(e.card is None for e in entries)
    if incomplete or temporaries:
        lines += ["", f"{incomplete} incomplete fit(s) and {len(temporaries)} temporary file(s) of killed runs "
                      "cannot be read: `bench cache prune --all` or any prune removes them"]
    zoo = [p for p in (cache / "zoo").rglob("*.safetensors")] if (cache / "zoo").is_dir() else []
    lines += ["", f"zoo weights {cache / 'zoo'}: {len(zoo)} file(s), {size_text(sum(p.stat().st_size for p in zoo))} "
                  "(`bench zoo train` makes them; prune leaves them)"]
    return "\n".join(lines)
