"""Stage 2, the facts: the week's fact sheet, every figure the post publishes, computed once from
one book snapshot. Public entry: `compute_facts`; the JSON contract is `facts.schema.json`
(`SCHEMA_PATH`), typed for later stages in `contract` (`Facts`), documented in
docs/facts-contract.md and docs/metrics.md."""

from pathlib import Path

from publisher.facts.compute import compute_facts

SCHEMA_PATH = Path(__file__).with_name("facts.schema.json")

__all__ = ["SCHEMA_PATH", "compute_facts"]
