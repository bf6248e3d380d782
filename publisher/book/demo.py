"""A realistic demo book: two books trading the same signals in opposite directions.

Book 1 ("standard") takes each signal; book 2 ("inverted") takes the same entry on the opposite
side, exits at the same price and time, and pays the same fees, so the pair is the "inverted
control" of the reference posts: if both lose, the fees are eating the edge. Generation is
vectorised with numpy per week and streamed into SQLite with executemany, so ten million trades
take minutes. The output is a new file of our own, so it is written with journaling off.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from publisher.book.reader import NATIVE_SCHEMA
from publisher.common.weeks import IsoWeek, last_complete_week
from publisher.errors import BookError

# 30 USDT pairs with a plausible price level and daily volatility.
PAIRS: tuple[tuple[str, str, float, float], ...] = (
    ("BTC/USDT", "Bitcoin", 84000.0, 0.025), ("ETH/USDT", "Ethereum", 3100.0, 0.035),
    ("BNB/USDT", "BNB", 590.0, 0.03), ("SOL/USDT", "Solana", 140.0, 0.05),
    ("XRP/USDT", "XRP", 2.1, 0.045), ("ADA/USDT", "Cardano", 0.65, 0.05),
    ("DOGE/USDT", "Dogecoin", 0.17, 0.06), ("AVAX/USDT", "Avalanche", 21.0, 0.055),
    ("DOT/USDT", "Polkadot", 4.1, 0.05), ("LINK/USDT", "Chainlink", 13.5, 0.05),
    ("MATIC/USDT", "Polygon", 0.22, 0.055), ("LTC/USDT", "Litecoin", 80.0, 0.04),
    ("ATOM/USDT", "Cosmos", 4.3, 0.05), ("UNI/USDT", "Uniswap", 5.6, 0.055),
    ("APT/USDT", "Aptos", 4.9, 0.06), ("ARB/USDT", "Arbitrum", 0.33, 0.06),
    ("OP/USDT", "Optimism", 0.72, 0.06), ("NEAR/USDT", "NEAR Protocol", 2.3, 0.055),
    ("FIL/USDT", "Filecoin", 2.6, 0.055), ("INJ/USDT", "Injective", 8.9, 0.065),
    ("SUI/USDT", "Sui", 2.2, 0.065), ("SEI/USDT", "Sei", 0.18, 0.07),
    ("TIA/USDT", "Celestia", 2.9, 0.07), ("RNDR/USDT", "Render", 4.0, 0.065),
    ("AAVE/USDT", "Aave", 145.0, 0.05), ("TRX/USDT", "TRON", 0.24, 0.03),
    ("TON/USDT", "Toncoin", 3.0, 0.045), ("PEPE/USDT", "Pepe", 0.0000072, 0.08),
    ("WIF/USDT", "dogwifhat", 0.42, 0.09), ("BIO/USDT", "Bio Protocol", 0.06, 0.09),
)
TRENDING = (("Bio Protocol", "BIO", 365), ("Pudgy Penguins", "PENGU", 108), ("RaveDAO", "RAVE", 33),
            ("Based", "BASED", 722), ("Bitcoin", "BTC", 1), ("Sui", "SUI", 12), ("Pepe", "PEPE", 26),
            ("Hyperliquid", "HYPE", 14), ("Ethena", "ENA", 55), ("Virtuals Protocol", "VIRTUAL", 88),
            ("Kaito", "KAITO", 210), ("Berachain", "BERA", 150), ("Solana", "SOL", 6), ("Mantra", "OM", 40))
NEWS_SOURCES = (("CoinGecko Trending", "https://www.coingecko.com/en/coins/{slug}"),
                ("CoinMarketCap Trending", "https://coinmarketcap.com/currencies/{slug}/"))

SPOT_FEE = 0.001  # taker fee per side on spot
FUTURES_FEE = 0.0005  # taker fee per side on USDT-margined futures
CAUSES = ("technical", "execution_slippage", "news")
NOTES = {
    "technical": (
        "{symbol} {side} stopped out after {minutes} min: breakout failed at the prior high, no volume behind it",
        "{symbol}: RSI divergence ignored, entry fired into a fading move; stop hit at {move}%",
        "{symbol} {side}: signal fired on a wick in a 1m candle, confirmation filter too loose",
        "{symbol}: trend filter lagged, entered against the 4h structure; lost {move}% in {minutes} min",
        "{symbol} {side} chopped out in a range; ATR stop too tight for current volatility",
        "{symbol}: mean-reversion entry in a trending tape, scanner score {score}/100 was marginal",
    ),
    "execution_slippage": (
        "{symbol}: market exit filled {slip} bps worse than the stop price in a thin book",
        "{symbol} {side}: entry filled {slip} bps above the signal price, edge gone before the move",
        "{symbol}: stop triggered on a liquidity gap, exit slipped {slip} bps",
        "{symbol} {side}: partial fill at entry, rest chased {slip} bps higher; position sized wrong",
        "{symbol}: spread widened to {slip} bps at the open of the hour, fees plus spread ate the target",
    ),
    "news": (
        "{symbol}: exchange listing rumour reversed within {minutes} min of entry",
        "{symbol} {side}: macro print (CPI) hit during the trade, move {move}% against us",
        "{symbol}: token unlock announcement, sell pressure ran through the stop",
        "{symbol} {side}: exploit headline on a related protocol, sector-wide dump",
        "{symbol}: ETF flow headline flipped sentiment, {move}% adverse move in {minutes} min",
    ),
}
ADJUSTMENTS = (
    ("Scanner-wide", "cut position size 25% and tighten the stop loss", "technical"),
    ("Global", "scan interval 8 → 12 minutes to filter noise", "technical"),
    ("{symbol}", "remove {symbol} from the scan list for 48 hours", "execution_slippage"),
    ("Execution", "switch exits to limit orders with a 5 s market fallback", "execution_slippage"),
    ("Risk", "skip entries 15 minutes either side of scheduled macro prints", "news"),
    ("{symbol}", "require 2 confirming candles before entries on {symbol}", "technical"),
    ("Futures lane", "cap leverage at 3x until the slippage cluster clears", "execution_slippage"),
    ("News filter", "pause new entries on a coin with a trending spike above rank 100", "news"),
)


@dataclass(frozen=True)
class DemoSpec:
    weeks: int = 12
    trades_per_week: int = 230
    seed: int = 7
    end_week: IsoWeek | None = None  # default: the last complete week (UTC)


@dataclass
class DemoResult:
    path: Path
    trades: int
    open_trades: int
    vault: int
    first_week: IsoWeek
    end_week: IsoWeek


def _week_trades(rng: np.random.Generator, week_start: float, week_len: float, n: int) -> dict[str, np.ndarray]:
    """One week of signals for the standard book (the mirror is derived from it)."""
    opened = np.sort(week_start + rng.random(n) * week_len)
    pair = rng.integers(0, len(PAIRS), n)
    base = np.array([p[2] for p in PAIRS])[pair]
    vol = np.array([p[3] for p in PAIRS])[pair]
    level = base * np.exp(0.15 * np.sin(opened / 86400 / 23 + pair) + 0.05 * rng.standard_normal(n))
    futures = rng.random(n) < 0.45
    leverage = np.where(futures, rng.choice(np.array([2.0, 3.0, 5.0, 10.0]), n, p=[0.4, 0.3, 0.2, 0.1]), 1.0)
    long = rng.random(n) < 0.55
    margin = 10.0 + rng.random(n) * 15.0  # USDT of equity per trade
    qty = margin * leverage / level
    tp = vol * (0.35 + 0.25 * rng.random(n))
    sl = vol * (0.2 + 0.15 * rng.random(n))
    outcome = rng.random(n)
    # 30% take-profit, 50% stop-loss, 20% signal exit (a small move either way); rare liquidations.
    # The gross edge is about zero, so both books mostly pay fees: the inverted control shows it.
    reason = np.where(outcome < 0.30, 0, np.where(outcome < 0.80, 1, 2))
    move = np.where(reason == 0, tp, np.where(reason == 1, -sl, vol * 0.3 * rng.standard_normal(n)))
    liquidated = futures & (leverage >= 10) & (rng.random(n) < 0.01)
    move = np.where(liquidated, -0.95 / leverage, move)
    reason = np.where(liquidated, 3, reason)
    direction = np.where(long, 1.0, -1.0)
    entry = level
    exit_ = entry * (1 + move * direction)
    duration = np.where(reason == 2, 3600 * (1 + 20 * rng.random(n)), 600 + rng.exponential(4 * 3600, n))
    fee_rate = np.where(futures, FUTURES_FEE, SPOT_FEE)
    return {"opened": opened, "closed": opened + duration, "pair": pair, "futures": futures, "leverage": leverage,
            "long": long, "qty": qty, "entry": entry, "exit": exit_, "reason": reason,
            "fee_open": qty * entry * fee_rate, "fee_close": qty * exit_ * fee_rate, "move": move}


def _iso(seconds: np.ndarray) -> list[str]:
    return np.datetime_as_string(np.round(seconds).astype("datetime64[s]"), unit="s", timezone="UTC").tolist()


STD_REASONS = ("take_profit", "stop_loss", "signal", "liquidation")
MIRROR_REASONS = ("stop_loss", "take_profit", "signal", "signal")


def _rows(spec: DemoSpec, first: IsoWeek, horizon: float) -> Iterator[tuple[list[tuple], list[tuple]]]:
    """Per week: trades rows and failure-vault rows, ids interleaved standard/inverted."""
    rng = np.random.default_rng(spec.seed)
    note_rng = np.random.default_rng(spec.seed + 1)
    week = first
    next_id = 1
    symbols = [p[0] for p in PAIRS]
    for _ in range(spec.weeks):
        start, end = week.bounds("UTC")
        n = max(1, int(spec.trades_per_week * (0.8 + 0.4 * rng.random())))
        w = _week_trades(rng, start.timestamp(), end.timestamp() - start.timestamp(), n)
        open_mask = w["closed"] >= horizon
        opened_iso, closed_iso = _iso(w["opened"]), _iso(w["closed"])
        direction = np.where(w["long"], 1.0, -1.0)
        gross = (w["exit"] - w["entry"]) * w["qty"] * direction
        fees = w["fee_open"] + w["fee_close"]
        trades: list[tuple] = []
        vault: list[tuple] = []
        columns = zip(w["pair"].tolist(), w["futures"].tolist(), w["leverage"].tolist(), w["long"].tolist(),
                      w["qty"].tolist(), w["entry"].tolist(), w["exit"].tolist(), opened_iso, closed_iso,
                      w["fee_open"].tolist(), w["fee_close"].tolist(), gross.tolist(), fees.tolist(),
                      w["reason"].tolist(), open_mask.tolist(), w["move"].tolist(), w["closed"].tolist(),
                      strict=True)
        causes = note_rng.choice(3, size=2 * n, p=[0.5, 0.33, 0.17]).tolist()
        picks = note_rng.integers(0, 6, size=2 * n).tolist()
        extras = note_rng.integers(3, 240, size=(2 * n, 3)).tolist()
        for i, (pair, fut, lev, long, qty, entry, exit_, op, cl, f_open, f_close, g, fee, reason, is_open, move,
                closed_s) in enumerate(columns):
            symbol = symbols[pair]
            lane = "futures" if fut else "spot"
            for k, (side, pnl, why) in enumerate(((("long" if long else "short"), g - fee, STD_REASONS[reason]),
                                                   (("short" if long else "long"), -g - fee, MIRROR_REASONS[reason]))):
                trade_id = next_id
                next_id += 1
                if is_open:
                    trades.append((trade_id, k + 1, lane, symbol, side, qty, lev, entry, None, op, None, f_open,
                                   0.0, None, None))
                    continue
                trades.append((trade_id, k + 1, lane, symbol, side, qty, lev, entry, exit_, op, cl, f_open,
                               f_close, pnl, why))
                if pnl < 0:
                    j = 2 * i + k
                    cause = CAUSES[causes[j]]
                    templates = NOTES[cause]
                    minutes, slip, score = extras[j]
                    note = templates[picks[j] % len(templates)].format(
                        symbol=symbol, side=side, minutes=minutes, move=f"{abs(move) * 100:.2f}",
                        slip=slip % 60 + 3, score=score % 40 + 45)
                    vault.append((trade_id, cause, note, _iso(np.array([closed_s + 60 + minutes * 7]))[0]))
        yield trades, vault
        week = week.next()


def _side_rows(spec: DemoSpec, first: IsoWeek) -> tuple[list[tuple], list[tuple]]:
    """Strategy adjustments (2-4 a week) and the week's trending-news list (5-7 headlines)."""
    rng = np.random.default_rng(spec.seed + 2)
    adjustments: list[tuple] = []
    news: list[tuple] = []
    week = first
    for _ in range(spec.weeks):
        start = week.bounds("UTC")[0].timestamp()
        for _ in range(int(rng.integers(2, 5))):
            scope, change, targets = ADJUSTMENTS[int(rng.integers(0, len(ADJUSTMENTS)))]
            symbol = PAIRS[int(rng.integers(0, len(PAIRS)))][0]
            at = _iso(np.array([start + rng.random() * 7 * 86400]))[0]
            adjustments.append((None, at, scope.format(symbol=symbol), change.format(symbol=symbol),
                                round(0.5 + 0.4 * float(rng.random()), 2),
                                "shipped" if rng.random() < 0.6 else "queued", targets))
        count = int(rng.integers(5, 8))  # the week's trending list, one headline a day at most
        days = np.sort(rng.choice(7, count, replace=False)).tolist()
        coins = rng.choice(len(TRENDING), count, replace=False).tolist()
        ranks = (rng.permutation(count) + 1).tolist()
        for day, idx, rank in zip(days, coins, ranks, strict=True):
            name, ticker, cap_rank = TRENDING[idx]
            source, url = NEWS_SOURCES[int(rng.integers(0, len(NEWS_SOURCES)))]
            at = _iso(np.array([start + day * 86400 + 8 * 3600]))[0]
            news.append((at, rank, f"Trending: {name} ({ticker}) — market-cap rank #{cap_rank}", source,
                         url.format(slug=name.lower().replace(" ", "-"))))
        week = week.next()
    return adjustments, news


def starting_balance(spec: DemoSpec) -> float:
    """1000 USDT for the default book; larger books get a balance in proportion to their number of
    trades, so that fees cost the same share of equity as in the default book."""
    return 1000.0 * max(1.0, spec.weeks * spec.trades_per_week / (12 * 230))


def make_demo_book(path: Path | str, spec: DemoSpec = DemoSpec(), *, force: bool = False,
                   now: dt.datetime | None = None) -> DemoResult:
    """Write the demo book to `path` (a new file; an existing one only with force)."""
    path = Path(path)
    if path.exists() and not force:
        raise BookError(f"{path}: already exists; choose another path or pass --force to replace it")
    if spec.weeks < 1 or spec.trades_per_week < 1:
        raise BookError("demo book: --weeks and --trades-per-week must be at least 1")
    end_week = spec.end_week or last_complete_week(now or dt.datetime.now(dt.UTC), "UTC")
    first = end_week
    for _ in range(spec.weeks - 1):
        first = first.previous()
    horizon = end_week.bounds("UTC")[1].timestamp()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    counts = {"trades": 0, "open": 0, "vault": 0}
    try:
        conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144; "
                           "PRAGMA temp_store=MEMORY;")
        statements = [part.strip() + ";" for part in NATIVE_SCHEMA.split(";") if part.strip()]
        indexes = [st for st in statements if "CREATE INDEX" in st]
        # Tables first, indexes after the bulk insert: building an index once is far cheaper.
        conn.executescript("\n".join(st for st in statements if st not in indexes))
        start = first.bounds("UTC")[0].strftime("%Y-%m-%dT%H:%M:%SZ")
        balance = starting_balance(spec)
        conn.executemany("INSERT INTO books VALUES (?, ?, ?, ?, ?, ?)", [
            (1, "standard", "standard", balance, "USDT", start), (2, "inverted", "inverted", balance, "USDT", start)])
        for trades, vault in _rows(spec, first, horizon):
            conn.executemany("INSERT INTO trades VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", trades)
            conn.executemany("INSERT INTO failure_vault (trade_id, root_cause, note, created_at) "
                             "VALUES (?, ?, ?, ?)", vault)
            counts["trades"] += len(trades)
            counts["open"] += sum(1 for t in trades if t[10] is None)
            counts["vault"] += len(vault)
        adjustments, news = _side_rows(spec, first)
        conn.executemany("INSERT INTO strategy_adjustments (book_id, created_at, scope, change, confidence, "
                         "status, targets) VALUES (?, ?, ?, ?, ?, ?, ?)", adjustments)
        conn.executemany("INSERT INTO news_items (published_at, rank, title, source, url) VALUES (?, ?, ?, ?, ?)",
                         news)
        conn.commit()
        conn.executescript("\n".join(indexes))
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.commit()
    except BaseException:
        conn.close()
        tmp.unlink(missing_ok=True)
        raise
    conn.close()
    os.replace(tmp, path)
    return DemoResult(path, counts["trades"], counts["open"], counts["vault"], first, end_week)

