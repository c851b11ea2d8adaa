"""lab-b: the second reference platform of examday.ops, shaped unlike the lab (docs/lab-b.md)."""
