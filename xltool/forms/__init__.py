"""Official form definitions: loaded from templates/*.yaml into one model that every other module compiles from.

- `model`: the frozen Form — tables, cells, labels, rules, the report section;
- `build`: a validated form file's data into a Form (positions, expanded rules, formula cells);
- `cache`: built-in forms kept in the user's cache folder, so a one-file command skips YAML and validation;
- `registry`: which forms there are (built-in, plugins, `--form` files) and finding one by year or id.
"""

from xltool.forms.build import expand_keys
from xltool.forms.model import (
    INFO_ROW,
    PREV,
    TABLE_ROW,
    TITLE_ROW,
    CarryOver,
    Cell,
    CellType,
    Figure,
    Form,
    FormError,
    Label,
    ReportItem,
    ReportSection,
    ReportSpec,
    Rule,
    Table,
    UnitField,
    a1,
    col_letter,
    col_number,
    formula_of,
)  # fmt: skip
from xltool.forms.registry import (
    ENTRY_POINT_GROUP,
    MAX_FORM_BYTES,
    OFFICIAL_FAMILY,
    WorkerForms,
    all_forms,
    form_by_id,
    form_for_year,
    load_form,
    plugin_errors,
    register_form_file,
    register_worker_forms,
    registered_files,
    templates_dir,
    worker_forms,
)  # fmt: skip

__all__ = [
    "ENTRY_POINT_GROUP", "INFO_ROW", "MAX_FORM_BYTES", "OFFICIAL_FAMILY", "PREV", "TABLE_ROW", "TITLE_ROW", "CarryOver",
    "Cell", "CellType", "Figure", "Form", "FormError", "Label", "ReportItem", "ReportSection", "ReportSpec", "Rule",
    "Table", "UnitField", "WorkerForms", "a1", "all_forms", "col_letter", "col_number", "expand_keys", "form_by_id",
    "form_for_year", "formula_of", "load_form", "plugin_errors", "register_form_file", "register_worker_forms",
    "registered_files", "templates_dir", "worker_forms",
]  # fmt: skip
