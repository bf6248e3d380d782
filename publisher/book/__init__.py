"""Stage 1, the book: the operator's SQLite trading book, opened read-only, any supported layout
(native, Freqtrade, mapped) normalised into one `Snapshot`. Public entry: `open_book`.
`demo` generates the demo book."""

from publisher.book.reader import Book, Snapshot, open_book

__all__ = ["Book", "Snapshot", "open_book"]
