"""`publish send [POST]`: deliver a weekly newsletter by SMTP, one message per subscriber, exactly once.

The send log (`.publisher/send-log.sqlite`, synchronous commits) records every recipient's fate
per post, so a re-run after a crash, a kill or a dropped connection sends only to those not yet
served. The guarantee, precisely:

- A recipient is marked `committing` (durably) just before the final `.` of SMTP DATA is sent,
  and `sent` / `rejected` / `deferred` once the server answers it. An SMTP server takes no
  responsibility for a message until it has received that final dot, so a failure before the mark
  means the message was not delivered: the recipient is retried (on reconnection, or on re-run).
- A recipient left `committing` (the connection dropped or the process died between the final dot
  and the logged answer, a window of one network round trip) may or may not have the message.
  They are never re-sent automatically; `publish send` reports them by address and exits 1, and
  `--resend-in-doubt` sends to them again (same Message-ID, so most clients show one message).
- So nobody receives the message twice unless you ask for it, and nobody is skipped silently.

Permanent rejections (5xx) are logged and not retried; temporary ones (4xx) are retried on the
next run. One send runs at a time per project (a lock beside the log).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import fcntl
import io
import os
import re
import smtplib
import sqlite3
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from publisher.config import Config
from publisher.errors import ConfigError, SendError
from publisher.site.content import Post, load_posts
from publisher.site.newsletter import Issue, make_issue, parse_address, personal_unsubscribe

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
LOG_NAME = "send-log.sqlite"
DONE = ("sent", "rejected")  # never sent again
IN_DOUBT = "committing"  # the final dot may have reached the server: sent again only on request
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass
class SendReport:
    post: str
    dry_run: bool
    subscribers: int
    sent: list[str] = field(default_factory=list)
    already: int = 0  # served by an earlier run
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (address, server's answer), this run
    deferred: list[tuple[str, str]] = field(default_factory=list)
    in_doubt: list[str] = field(default_factory=list)
    outbox: Path | None = None  # where --dry-run wrote the messages

    @property
    def ok(self) -> bool:
        return not self.deferred and not self.in_doubt

    def lines(self) -> list[str]:
        verb = "would send" if self.dry_run else "sent"
        out = [f"{self.post}: {verb} {len(self.sent)} of {self.subscribers} subscribers"
               f" ({self.already} already served by an earlier run)"]
        if self.outbox is not None:
            out.append(f"messages written to {self.outbox} (nothing was sent)")
        out += [f"rejected {addr}: {why}" for addr, why in self.rejected]
        out += [f"deferred {addr}: {why} (run 'publish send' again to retry)" for addr, why in self.deferred]
        out += [f"in doubt {addr}: the connection ended before the server confirmed; check with the recipient, "
                "or run 'publish send --resend-in-doubt'" for addr in self.in_doubt]
        return out


# --- subscribers -------------------------------------------------------------------------------------


def load_subscribers(path: Path) -> list[str]:
    """Addresses from a CSV file with an `email` column, or one address per line (`#` comments).

    Invalid addresses fail the whole send before anything goes out, naming file and line; duplicates
    (case-insensitive) are dropped, first occurrence kept."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SendError(f"{path}: subscribers file not found; create it (one address per line, or a CSV with an "
                        "'email' column) or set [newsletter] subscribers") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SendError(f"{path}: cannot read the subscribers file ({exc}); save it as UTF-8") from None
    rows: list[tuple[int, str]] = []
    lines = text.splitlines()
    first = next((line for line in lines if line.strip() and not line.lstrip().startswith("#")), "")
    if "," in first or ";" in first or first.strip().lower() == "email":
        dialect = csv.Sniffer().sniff(first, delimiters=",;") if ("," in first or ";" in first) else csv.excel
        reader = csv.reader(io.StringIO(text), dialect)
        header: list[str] | None = None
        end = 0
        for row in reader:
            start, end = end + 1, reader.line_num  # a quoted field may span lines: name the first
            if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in row]
                if "email" not in header:
                    raise SendError(f"{path}: line {start}: no 'email' column in the CSV header "
                                    f"({', '.join(header)}); name the address column 'email'")
                column = header.index("email")
                continue
            rows.append((start, row[column].strip() if column < len(row) else ""))
    else:
        rows = [(n, line.strip()) for n, line in enumerate(lines, 1)
                if line.strip() and not line.lstrip().startswith("#")]
    addresses: list[str] = []
    seen: set[str] = set()
    for line, value in rows:
        where = f"{path}: line {line}"
        if not value:
            raise SendError(f"{where}: empty address; fill it in or delete the row")
        if not value.isascii():
            raise SendError(f"{where}: {value!r} is not an ASCII address; internationalised addresses are not supported")
        try:
            address = parse_address(value, where)
        except ConfigError as exc:
            raise SendError(str(exc)) from None
        if address.display_name:
            raise SendError(f"{where}: {value!r}: give the bare address (ann@example.org), without a name")
        key = address.addr_spec.lower()
        if key not in seen:
            seen.add(key)
            addresses.append(address.addr_spec)
    if not addresses:
        raise SendError(f"{path}: no subscribers in the file; add one address per line")
    return addresses


# --- placeholders -------------------------------------------------------------------------------------

PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org", "example.github.io")  # RFC 2606 + the scaffold's


def is_placeholder_host(host: str) -> bool:
    """example.com & co (RFC 2606), `.example` / `.invalid` names and the scaffold's example.github.io."""
    host = host.lower().rstrip(".")
    return (any(host == d or host.endswith("." + d) for d in PLACEHOLDER_DOMAINS)
            or host.endswith((".example", ".invalid")) or host in ("example", "invalid"))


def _host_of(value: str) -> str:
    if "@" in value and "://" not in value:
        return value.rsplit("@", 1)[1].split("?")[0].strip("<> ")
    return urlparse(value).hostname or ""


def placeholders(config: Config, subscribers: list[str] | None = None) -> list[str]:
    """What still points at a placeholder domain and would reach readers in a send."""
    found = []
    if is_placeholder_host(urlparse(config.site.url).hostname or ""):
        found.append(f"[site] url = {config.site.url!r} (every link in the email points there)")
    news = config.newsletter
    if is_placeholder_host(_host_of(news.sender)):
        found.append(f"[newsletter] sender = {news.sender!r}")
    if news.recipient and is_placeholder_host(_host_of(news.recipient)):
        found.append(f"[newsletter] recipient = {news.recipient!r}")
    for url in re.findall(r"<([^<>]+)>", news.list_unsubscribe) or [news.list_unsubscribe]:
        if url.strip() and is_placeholder_host(_host_of(url.removeprefix("mailto:"))):
            found.append(f"[newsletter] list_unsubscribe = {news.list_unsubscribe!r}")
            break
    if news.unsubscribe_url and is_placeholder_host(_host_of(news.unsubscribe_url)):
        found.append(f"[newsletter] unsubscribe_url = {news.unsubscribe_url!r}")
    fake = [a for a in subscribers or [] if is_placeholder_host(_host_of(a))]
    if fake:
        more = f" and {len(fake) - 3} more" if len(fake) > 3 else ""
        found.append(f"{news.subscribers}: placeholder recipients {', '.join(fake[:3])}{more}")
    return found


# --- the send log --------------------------------------------------------------------------------------


class SendLog:
    """Per post and recipient, the last known state; every write is committed before it returns."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS deliveries (post TEXT NOT NULL, address TEXT NOT NULL, "
                        "status TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '', at TEXT NOT NULL, "
                        "PRIMARY KEY (post, address))")

    def states(self, post: str) -> dict[str, str]:
        rows = self.db.execute("SELECT address, status FROM deliveries WHERE post = ?", (post,))
        return dict(rows.fetchall())

    def mark(self, post: str, address: str, status: str, detail: str = "") -> None:
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.db.execute("INSERT INTO deliveries (post, address, status, detail, at) VALUES (?, ?, ?, ?, ?) "
                        "ON CONFLICT (post, address) DO UPDATE SET status = excluded.status, "
                        "detail = excluded.detail, at = excluded.at", (post, address.lower(), status, detail, at))

    def close(self) -> None:
        self.db.close()


@contextlib.contextmanager
def _send_lock(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / "send.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SendError(f"{state_dir / 'send.lock'}: another 'publish send' is running for this project; "
                            "wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- SMTP ---------------------------------------------------------------------------------------------------


def connect(config: Config, environ: dict[str, str] | None = None) -> smtplib.SMTP:
    """An SMTP connection as `[smtp]` says: SSL, STARTTLS (certificate verified) or plain; logged in."""
    smtp = config.smtp
    if not smtp.host:
        raise SendError("[smtp] host is not set; set host, port, security and user in publisher.toml")
    port = smtp.port or DEFAULT_PORTS[smtp.security]
    env = os.environ if environ is None else environ
    password = env.get(smtp.password_env, "") if smtp.user else ""
    if smtp.user and not password:
        raise SendError(f"[smtp] user = {smtp.user!r} but ${smtp.password_env} is empty; export the SMTP password there")
    if smtp.user and smtp.security == "none" and smtp.host not in _LOCAL_HOSTS:
        raise SendError(f"[smtp] security = 'none' would send the password for {smtp.user!r} in clear to "
                        f"{smtp.host}; use starttls or ssl")
    try:  # certificates are always verified; ca_file adds a private CA, it never turns checking off
        context = ssl.create_default_context(cafile=str(config.path(smtp.ca_file)) if smtp.ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise SendError(f"[smtp] ca_file = {smtp.ca_file!r}: cannot load it ({exc}); give a PEM file of CA certificates") from None
    if smtp.security == "ssl":
        conn: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, port, timeout=smtp.timeout, context=context)
    else:
        conn = smtplib.SMTP(smtp.host, port, timeout=smtp.timeout)
    try:
        conn.ehlo()
        if smtp.security == "starttls":
            if not conn.has_extn("starttls"):
                raise SendError(f"{smtp.host}:{port} does not offer STARTTLS; set [smtp] security = 'ssl' (port 465) "
                                "or a server that does")
            conn.starttls(context=context)
            conn.ehlo()
        if smtp.user:
            conn.login(smtp.user, password)
    except smtplib.SMTPAuthenticationError as exc:
        _close(conn)
        raise SendError(f"{smtp.host}:{port} refused the login of {smtp.user!r} ({exc.smtp_code}); "
                        f"check [smtp] user and ${smtp.password_env}") from None
    except BaseException:
        _close(conn)
        raise
    return conn


def _close(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            conn.close()


def _answer(code: int, reply: bytes) -> str:
    return f"{code} {reply.decode('utf-8', 'replace')}".strip()


def deliver(conn: smtplib.SMTP, sender: str, recipient: str, data: bytes, committing: Callable[[], None]) -> tuple[str, str]:
    """One SMTP transaction; calls `committing()` just before the final dot (see the module docstring).

    Returns (status, server answer): sent, rejected (5xx) or deferred (4xx). A dropped connection
    raises (OSError / SMTPServerDisconnected)."""
    code, reply = conn.mail(sender)
    if code == 250:
        code, reply = conn.rcpt(recipient)
    if code in (250, 251):
        code, reply = conn.docmd("DATA")
    if code != 354:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            conn.rset()
        return ("rejected" if code >= 500 else "deferred"), _answer(code, reply)
    body = data.replace(b"\r\n.", b"\r\n..")  # dot-stuffing (RFC 5321 4.5.2); lines already end in CRLF
    if body.startswith(b"."):
        body = b"." + body
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    conn.send(body)
    committing()
    conn.send(b".\r\n")
    code, reply = conn.getreply()
    if 200 <= code < 300:
        return "sent", _answer(code, reply)
    return ("rejected" if code >= 500 else "deferred"), _answer(code, reply)


# --- the send --------------------------------------------------------------------------------------------


def find_post(config: Config, ref: str | None) -> Post:
    """A published weekly by slug, week (2026-W16) or file path; the newest when `ref` is None."""
    posts = [p for p in load_posts(config.content_dir, config.site.timezone) if p.kind == "weekly"]
    if ref is None:
        published = [p for p in posts if p.status != "draft"]
        if not published:
            raise SendError(f"{config.content_dir / 'weekly'}: no published weekly to send; run 'publish weekly --publish'")
        return published[0]
    wanted = ref.strip()
    target = Path(wanted).expanduser().resolve() if wanted.endswith(".md") else None
    for post in posts:
        if post.slug == wanted.lower() or post.source.stem.lower() == wanted.lower() or post.source.resolve() == target:
            if post.status == "draft":
                raise SendError(f"{post.source}: status is draft; publish it (status: published, then 'publish build') first")
            return post
    raise SendError(f"no weekly post {ref!r} under {config.content_dir / 'weekly'}; give a slug, a week like 2026-W16 or a path")


def _issue(config: Config, post: Post) -> Issue:
    """The issue from the built site: its page proves the post was built, its charts are attached."""
    from publisher.render.markdown import render_post_html

    page = config.site_dir / post.url_path / "index.html"
    if not page.is_file():
        raise SendError(f"{page} does not exist: the post is not built; run 'publish build' before sending")
    render_post_html(post)
    return make_issue(post, config, config.site_dir)


def send_newsletter(
    config: Config,
    post_ref: str | None = None,
    *,
    dry_run: bool = False,
    resend_in_doubt: bool = False,
    environ: dict[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> SendReport:
    """Send the weekly to every subscriber not yet served (see the module docstring for the guarantee)."""
    post = find_post(config, post_ref)
    subscribers = load_subscribers(config.path(config.newsletter.subscribers))
    sender = parse_address(config.newsletter.sender, "[newsletter] sender").addr_spec
    if not config.newsletter.unsubscribe_url.strip() and not config.newsletter.list_unsubscribe.strip():
        raise SendError("no unsubscribe link: set [newsletter] unsubscribe_url (https, one-click) before sending")
    fake = placeholders(config, subscribers)
    if fake and not dry_run:
        raise SendError(f"placeholder address in the newsletter: {fake[0]}; set your own (see 'publish doctor'), "
                        "or use --dry-run to preview")
    issue = _issue(config, post)
    unsubscribe = {a: personal_unsubscribe(config, a, environ) for a in subscribers}  # config errors before any send
    report = SendReport(post=post.slug, dry_run=dry_run, subscribers=len(subscribers))
    with _send_lock(config.state_dir):
        log = SendLog(config.state_dir / LOG_NAME)
        try:
            states = log.states(post.slug)
            todo = []
            for address in subscribers:
                state = states.get(address.lower())
                if state in DONE or (state == IN_DOUBT and not resend_in_doubt):
                    report.already += state in DONE
                    if state == IN_DOUBT:
                        report.in_doubt.append(address)
                    continue
                todo.append(address)
            if dry_run:
                report.outbox = config.state_dir / "outbox" / post.slug
                report.outbox.mkdir(parents=True, exist_ok=True)
                for n, address in enumerate(todo, 1):
                    data = issue.message(address, unsubscribe[address]).as_bytes()
                    (report.outbox / f"{n:05d}.eml").write_bytes(data)
                    report.sent.append(address)
                return report
            _send_all(config, issue, sender, todo, unsubscribe, log, report, environ, sleep, clock)
        finally:
            log.close()
    return report


def _send_all(config: Config, issue: Issue, sender: str, todo: list[str], unsubscribe: dict[str, str], log: SendLog,
              report: SendReport, environ: dict[str, str] | None, sleep: Callable[[float], None],
              clock: Callable[[], float]) -> None:
    smtp = config.smtp
    interval = 60.0 / smtp.rate_per_minute if smtp.rate_per_minute else 0.0
    conn: smtplib.SMTP | None = None
    drops = 0
    last: float | None = None
    where = f"{smtp.host}:{smtp.port or DEFAULT_PORTS[smtp.security]}"
    try:
        for address in todo:
            now = dt.datetime.now(dt.UTC).astimezone(ZoneInfo(config.site.timezone))
            data = issue.message(address, unsubscribe[address], date=now.replace(microsecond=0)).as_bytes()
            while True:
                if last is not None and interval:
                    wait = interval - (clock() - last)
                    if wait > 0:
                        sleep(wait)
                committed = False

                def committing(address: str = address) -> None:
                    nonlocal committed
                    log.mark(issue.post.slug, address, IN_DOUBT)
                    committed = True

                try:
                    if conn is None:
                        conn = connect(config, environ)
                    last = clock()
                    status, answer = deliver(conn, sender, address, data, committing)
                except (OSError, smtplib.SMTPException) as exc:
                    _close(conn)
                    conn = None
                    if committed:
                        report.in_doubt.append(address)
                        break
                    drops += 1
                    if drops > smtp.retries:
                        raise SendError(
                            f"SMTP connection to {where} failed ({type(exc).__name__}: {exc}) after {len(report.sent)} "
                            f"messages this run; nobody was sent twice: run 'publish send' again to continue") from None
                    sleep(min(2.0 ** drops, 30.0))
                    continue
                log.mark(issue.post.slug, address, status, answer)
                if status == "sent":
                    report.sent.append(address)
                elif status == "rejected":
                    report.rejected.append((address, answer))
                else:
                    report.deferred.append((address, answer))
                break
    finally:
        if conn is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                conn.quit()
            _close(conn)

