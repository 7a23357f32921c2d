"""Random returns generated from the form definition itself (consistent ones, and deliberately broken ones)."""

from __future__ import annotations

import random
from decimal import Decimal

from xltool.forms import Form, all_forms
from xltool.model import Invalid, Return, Unit


def form_years() -> list[int]:
    """One report year per known form (its last year, or 2025 for an open-ended one): tests run for every form."""
    return [f.last_year or max(f.first_year, 2025) for f in all_forms()]


def consistent_values(form: Form, rng: random.Random, scale: int = 20) -> dict[str, Decimal]:
    """Every input filled so that all 逻辑性 rules pass (totals are left to the formulas)."""
    values: dict[str, Decimal] = {}
    for cell in form.inputs:
        if cell.type.name == "amount":
            values[cell.key] = Decimal(rng.randint(0, 10**6)) / Decimal(10**4)
        elif cell.type.signed:
            values[cell.key] = Decimal(rng.randint(-scale, scale))
        else:
            values[cell.key] = Decimal(rng.randint(0, scale) if rng.random() < 0.6 else 0)
    # Plausible Table 二: documents in force include this year's; totals published include this year's.
    for key in list(values):
        for total, part in ((".in_force", ".issued"), (".published_total", ".published")):
            if key.endswith(total):
                values[key] = values[key[: -len(total)] + part] + values[key]
    # Table 三: choose results and carried-over, then split the column total between 一 (new) and 二 (carried in).
    apply = form.table("apply")
    for col in apply.col_keys:
        if f"apply.new.{col}" not in form.cell or not form.cell[f"apply.new.{col}"].is_input:
            continue
        handled = sum(
            (values[k] for k in (f"apply.{r}.{col}" for r in apply.row_keys if r.startswith("result.")) if k in values),
            Decimal(0),
        )
        total = handled + values[f"apply.carried_over.{col}"]
        carried_in = Decimal(rng.randint(0, int(total)))
        values[f"apply.carried_in.{col}"] = carried_in
        values[f"apply.new.{col}"] = total - carried_in
    return values


def random_return(
    form: Form,
    year: int,
    rng: random.Random,
    *,
    broken: int = 0,
    blanks: int = 0,
    texts: int = 0,
    explain: bool = False,
) -> Return:
    """A return with `broken` inputs nudged off balance, `blanks` cells left empty and `texts` cells holding text."""
    values: dict = dict(consistent_values(form, rng))
    keys = [c.key for c in form.inputs]
    for key in rng.sample(keys, broken):
        values[key] = values[key] + rng.choice([1, 2, 5, 17])
    for key in rng.sample(keys, blanks):
        values.pop(key, None)
    for key in rng.sample(keys, texts):
        values[key] = Invalid(rng.choice(["无", "-", "abc"]), "不是数字")
    explanations = {}
    if explain:
        explanations = {r.id: "本年废止的文件多于新制发" for r in form.rules if r.severity == "warning"}
    return Return(form, year, Unit(name="测试镇人民政府", code="111111111111111111"), values, explanations=explanations)
