"""Stage 5, every post: posts as files (`content`), the static site built atomically and
incrementally (`build.build_site`, the public entry), laid out as Pelican's build: the posts go
into a `context`, `generators` render pages, charts, feeds (`feed`), newsletters (`newsletter`)
and dev.to exports (`devto`) from it, a `writer` writes the files and swaps the site in whole;
`cache` says which posts are unchanged, `pool` renders the others on every core."""
