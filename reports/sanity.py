"""Warnings drawn from the results themselves (AutoAttack-style checks): a weaker attack beating
white-box PGD points at gradient masking or a broken attack, not at a strong weak attack."""
from __future__ import annotations

import pandas as pd

from common.eps import eps_text

MARGIN = 0.01  # one percentage point: differences below it are noise at n ~ 1000


def result_warnings(df: pd.DataFrame, margin: float = MARGIN) -> list[str]:
    """FGSM beating PGD white-box, and any transferred (black-box-like) or noise attack beating
    white-box PGD on the same target, budget and mode, by more than `margin`."""
    if df.empty or "method" not in df.columns:
        return []
    out = []
    d = df.copy()
    d["targeted"] = d.targeted.astype(bool)
    d["whitebox"] = d.whitebox.astype(bool)
    d["rate"] = d.targeted_success.where(d.targeted, d.success_on_correct)
    pgd = d[(d.method == "pgd") & d.whitebox].groupby(["norm", "eps", "targeted", "target"]).rate.max()
    if pgd.empty:
        return []
    for (norm, eps, targeted, target), best in pgd.items():
        rivals = d[(d.norm == norm) & (d.eps == eps) & (d.targeted == targeted) & (d.target == target)]
        mode = "targeted success" if targeted else "success on correct"
        fgsm = rivals[(rivals.method == "fgsm") & rivals.whitebox]
        if len(fgsm) and fgsm.rate.max() > best + margin:
            out.append(f"FGSM beats PGD white-box on {target} ({norm} eps={eps_text(eps)}, {mode} "
                       f"{fgsm.rate.max():.1%} vs {best:.1%}): PGD is misconfigured or the gradients are masked")
        blackbox = rivals[(~rivals.whitebox) | (rivals.method == "noise")]
        if len(blackbox) and blackbox.rate.max() > best + margin:
            row = blackbox.loc[blackbox.rate.idxmax()]
            how = "random noise" if row.method == "noise" else f"{row.attack} transferred from {row.source}"
            out.append(f"{how} beats white-box PGD on {target} ({norm} eps={eps_text(eps)}, {mode} {row.rate:.1%} vs "
                       f"{best:.1%}): gradient masking likely, white-box numbers for {target} overstate robustness")
    return out
