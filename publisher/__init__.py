"""publisher: weekly post-mortems for build-in-public paper-trading bots.

One package per stage, data flowing one way (docs/architecture.md):

    book -> facts -> drafting -> render -> site -> ops (deploy)

- `book`: the trading book, opened read-only, any layout normalised into one snapshot.
- `facts`: the week's fact sheet, the one computation every figure comes from.
- `drafting`: the prose, section by section, with a local model, checked against the facts.
- `render`: one post: Markdown from facts and draft, charts, Markdown to HTML.
- `site`: every post: content files, the static site, feeds, newsletters, dev.to exports.
- `ops`: around the pipeline: deploy, preview server, schedule, scaffold, doctor.
- `weekly`: the Tuesday job that runs the stages in order; `cli`: the `publish` command.
- `common`, `config`, `errors`: what every stage shares.
"""

__version__ = "0.1.0"
