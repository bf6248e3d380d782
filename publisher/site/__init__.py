"""Stage 5, every post: posts as files (`content`), the static site built atomically and
incrementally (`build.build_site`, the public entry), the RSS feeds, newsletters and dev.to
exports written beside it."""
