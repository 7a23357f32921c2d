"""Regenerate the example files: a filled return per form version and a small county of township returns.

    python examples/make_examples.py

Numbers are invented but shaped like real township reports (few applications, mostly 予以公开 or 本机关不掌握).
"""

from __future__ import annotations

import csv
import random
import sys
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from xltool.forms import form_for_year  # noqa: E402
from xltool.model import Return, Unit  # noqa: E402
from xltool.template import write_xlsx  # noqa: E402

TOWNS = ["城关镇", "东坝镇", "西河乡", "南山镇", "北塘街道", "柳营乡", "石桥镇", "红星街道"]
COUNTY = "示例县"


def township_values(form, rng: random.Random) -> dict[str, Decimal]:
    v: dict[str, Decimal] = {}
    cell = form.cell

    def put(key: str, n) -> None:
        if key in cell and cell[key].is_input:
            v[key] = Decimal(str(n))

    for c in form.inputs:  # everything 0 unless set below: a clerk enters 0 explicitly
        v[c.key] = Decimal(0)
    if form.version == "2021":
        issued = rng.randint(0, 3)
        put("active.rules.normative.issued", issued)
        put("active.rules.normative.repealed", rng.randint(0, 1))
        put("active.rules.normative.in_force", issued + rng.randint(2, 9))
        put("active.licensing.permit.decisions", rng.randint(0, 180))
        put("active.enforcement.penalty.decisions", rng.randint(0, 40))
        put("active.enforcement.coercion.decisions", rng.randint(0, 3))
        put("active.fees.admin_fee.amount", Decimal(rng.randint(0, 50000)) / 10000)
    else:
        made = rng.randint(0, 4)
        put("active.rules.normative.made", made)
        put("active.rules.normative.published", made)
        put("active.rules.normative.published_total", made + rng.randint(3, 20))
        for block, row in (("licensing", "permit"), ("enforcement", "penalty")):
            put(f"active.{block}.{row}.items_last_year", rng.randint(5, 30))
            put(f"active.{block}.{row}.change", rng.randint(-3, 3))
            put(f"active.{block}.{row}.decisions", rng.randint(0, 120))
    # Table 三: a handful of applications from natural persons, the odd one from a business.
    for col, most in (("natural_person", 8), ("business", 2)):
        public, partial, not_held = rng.randint(0, most), rng.randint(0, 1), rng.randint(0, 2)
        pending = rng.randint(0, 1)
        carried_in = rng.randint(0, 1)
        handled = public + partial + not_held
        put(f"apply.result.public.{col}", public)
        put(f"apply.result.partial.{col}", partial)
        put(f"apply.result.unavailable.not_held.{col}", not_held)
        put(f"apply.carried_over.{col}", pending)
        put(f"apply.carried_in.{col}", carried_in)
        put(f"apply.new.{col}", handled + pending - carried_in)
    if rng.random() < 0.3:
        put("appeal.review.upheld", 1)
    return v


def town(form, year: int, i: int, name: str) -> Return:
    rng = random.Random(year * 100 + i)
    unit = Unit(
        name=f"{COUNTY}{name}人民政府" if not name.endswith("街道") else f"{COUNTY}{name}办事处",
        code=f"9151000000000{i:05d}",
        scope="本机关",
        filled_by="张三",
        phone="0000-1234567",
        date=f"{year + 1}-01-1{i % 10}",
    )
    # The optional 填报说明 fields the form's annual report asks for (xltool report): address, no fees charged.
    extra = {"address": f"{COUNTY}{name}人民路{i + 1}号", "postcode": f"75100{i}", "fee_cases": "0", "fee_amount": "0"}
    unit.extra = {f.key: extra[f.key] for f in form.report.unit_fields if f.key in extra}
    return Return(form, year, unit, township_values(form, rng))


def main() -> None:
    form_2025, form_2020 = form_for_year(2025), form_for_year(2020)
    sample = town(form_2025, 2025, 0, "城关镇")
    sample.values["active.rules.normative.issued"] = Decimal(6)  # a warning, explained by the clerk
    sample.values["active.rules.normative.in_force"] = Decimal(4)
    sample.explanations["T2-INFORCE-NORMATIVE"] = "本年制发的 2 件为临时性措施，已于年内废止"
    write_xlsx(sample, HERE / "sample-return-2025.xlsx")
    write_xlsx(town(form_2020, 2020, 0, "城关镇"), HERE / "sample-return-2020.xlsx")

    county = HERE / "county-2025"
    county.mkdir(exist_ok=True)
    for old in county.glob("*.xlsx"):
        old.unlink()
    for i, name in enumerate(TOWNS[:7], start=1):
        ret = town(form_2025, 2025, i, name)
        if name == "南山镇":  # a typing slip: 自然人 予以公开 one too many, so the 勾稽 does not balance
            ret.values["apply.result.public.natural_person"] += 1
        write_xlsx(ret, county / f"{i:02d}-{name}.xlsx")
    # 红星街道 is on the roster but has not reported; 石桥镇 sent its file twice under different names.
    twin = town(form_2025, 2025, 7, "石桥镇")
    write_xlsx(twin, county / "07-石桥镇（修改版）.xlsx")
    with (county / "units.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "code", "type"])
        for i, name in enumerate(TOWNS, start=1):
            full = f"{COUNTY}{name}人民政府" if not name.endswith("街道") else f"{COUNTY}{name}办事处"
            w.writerow([full, f"9151000000000{i:05d}", "街道" if name.endswith("街道") else "乡镇"])
    print(f"wrote examples into {HERE}")


if __name__ == "__main__":
    main()
