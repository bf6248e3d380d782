"""`publish send` end to end against a real SMTP server on localhost (aiosmtpd): one message per
subscriber with its own unsubscribe link, exactly once across a crash, a dropped connection and a
re-run; a rejected recipient is reported and not retried."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import fcntl
import shutil
import socket
import ssl
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from site_project import write_weekly

from publisher.cli import main
from publisher.config import Config, load_config
from publisher.errors import SendError
from publisher.ops.send import load_subscribers, send_newsletter
from publisher.site.build import build_site

aiosmtpd = pytest.importorskip("aiosmtpd.controller")

SUBSCRIBERS = ["ann@mail.test", "bob@mail.test", "cy@mail.test", "dee@mail.test", "eve@mail.test"]


class Server:
    """Records every accepted message; can reject a recipient and drop the connection on cue."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.reject: set[str] = set()
        self.defer_once: set[str] = set()
        self.drop_at_rcpt: set[int] = set()  # drop when the n-th RCPT (1-based, over the server's life) arrives
        self.drop_after_data: set[int] = set()  # keep the n-th message but drop before answering its final dot
        self.rcpts = 0
        self.datas = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        self.rcpts += 1
        if self.rcpts in self.drop_at_rcpt:
            server.transport.close()
            return "421 closing"
        if address in self.reject:
            return "550 5.1.1 no such mailbox"
        if address in self.defer_once:
            self.defer_once.discard(address)
            return "451 4.7.1 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        self.datas += 1
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        if self.datas in self.drop_after_data:
            server.transport.close()
            return "421 closing"
        return "250 Message accepted"

    def delivered(self) -> Counter[str]:
        return Counter(rcpt for rcpts, _ in self.messages for rcpt in rcpts)

    def parsed(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(data, policy=email.policy.default) for _, data in self.messages]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Server, int]]:
    server = Server()
    port = _free_port()
    controller = aiosmtpd.Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield server, port
    finally:
        controller.stop()


TOML = """[site]
title = "Quant Log"
url = "https://quant.test/log/"
timezone = "UTC"

[newsletter]
sender = "Ann Operator <ops@quant.test>"
list_unsubscribe = "<mailto:leave@quant.test>"
unsubscribe_url = "https://quant.test/unsubscribe?email={email}"

[smtp]
host = "127.0.0.1"
port = %d
security = "none"
rate_per_minute = 0
retries = 0
timeout = 10
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One built site project, copied by each test (a build per test would dominate the run)."""
    root = tmp_path_factory.mktemp("send") / "proj"
    root.mkdir()
    (root / "publisher.toml").write_text(TOML % 25, encoding="utf-8")
    config = load_config(root, environ={})
    write_weekly(root, config)
    build_site(config)
    return root


def project(root: Path, template: Path, port: int, subscribers: str | None = None) -> Config:
    shutil.copytree(template, root, dirs_exist_ok=True)
    (root / "publisher.toml").write_text(TOML % port, encoding="utf-8")
    (root / "subscribers.csv").write_text(subscribers if subscribers is not None else "\n".join(SUBSCRIBERS) + "\n",
                                          encoding="utf-8")
    return load_config(root, environ={})


def test_each_subscriber_gets_one_personal_message(tmp_path: Path, smtp, built: Path) -> None:
    server, port = smtp
    csv = "name,Email\nAnn,ann@mail.test\nBob,bob@mail.test\n\"Cy, Jr\",CY@mail.test\nAnn again,Ann@Mail.test\n"
    config = project(tmp_path, built, port, csv)
    sent_after = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=1)
    report = send_newsletter(config, environ={})
    assert report.sent == ["ann@mail.test", "bob@mail.test", "CY@mail.test"] and report.ok
    assert server.delivered() == Counter({"ann@mail.test": 1, "bob@mail.test": 1, "CY@mail.test": 1})
    chart = (config.site_dir / "weekly" / "weekly-2026-w16" / "charts" / "equity-narrow.png").read_bytes()
    for (rcpts, _), msg in zip(server.messages, server.parsed(), strict=True):
        (rcpt,) = rcpts
        personal = f"https://quant.test/unsubscribe?email={quote(rcpt, safe='@')}"
        assert msg["To"] == rcpt
        assert msg["From"] == "Ann Operator <ops@quant.test>"
        assert msg["Date"].datetime >= sent_after  # when it was sent, not the week it is about
        assert msg["Subject"] == "Quant Log Weekly · 2026W16: realized PnL -1.55 USDT"  # the standard book
        assert msg["List-Unsubscribe"] == f"<{personal}>, <mailto:leave@quant.test>"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        html = msg.get_body(("html",)).get_content()
        text = msg.get_body(("plain",)).get_content()
        assert f'href="{personal}"' in html and f"Unsubscribe: {personal}" in text
        others = [a for a in SUBSCRIBERS if a.lower() != rcpt.lower()]
        assert not any(other in html or other in text for other in others)
        images = {p["Content-ID"]: p.get_content() for p in msg.walk() if p.get_content_type() == "image/png"}
        assert images["<weekly-2026-w16.equity-narrow@quant.test>"] == chart
        assert "cid:weekly-2026-w16.equity-narrow@quant.test" in html
    assert len({m["Message-ID"] for m in server.parsed()}) == 3

    again = send_newsletter(config, environ={})  # a re-run sends nothing
    assert again.sent == [] and again.already == 3
    assert len(server.messages) == 3


@pytest.mark.parametrize("retries", [0, 2])
def test_dropped_connection_mid_list_resends_nobody_and_skips_nobody(tmp_path: Path, smtp, built: Path, retries: int) -> None:
    server, port = smtp
    server.drop_at_rcpt = {3}  # the third recipient's RCPT: the connection goes away
    config = project(tmp_path, built, port)
    config.smtp.retries = retries
    slept: list[float] = []
    if retries == 0:  # no reconnection allowed: the run stops, and a second run finishes the list
        with pytest.raises(SendError, match="run 'publish send' again"):
            send_newsletter(config, environ={}, sleep=slept.append)
        assert server.delivered() == Counter(SUBSCRIBERS[:2])
        report = send_newsletter(config, environ={}, sleep=slept.append)
        assert report.sent == SUBSCRIBERS[2:] and report.already == 2
    else:  # reconnects within the run
        report = send_newsletter(config, environ={}, sleep=slept.append)
        assert report.sent == SUBSCRIBERS and slept == [2.0]  # one back-off before reconnecting
    assert server.delivered() == Counter(SUBSCRIBERS)


def test_drop_after_the_final_dot_is_reported_in_doubt_not_resent(tmp_path: Path, smtp, built: Path) -> None:
    server, port = smtp
    server.drop_after_data = {2}  # the server keeps bob's message but never confirms it
    config = project(tmp_path, built, port)
    config.smtp.retries = 1
    report = send_newsletter(config, environ={}, sleep=lambda _s: None)
    assert report.in_doubt == ["bob@mail.test"] and not report.ok
    assert report.sent == [a for a in SUBSCRIBERS if a != "bob@mail.test"]
    assert server.delivered() == Counter(SUBSCRIBERS)

    again = send_newsletter(config, environ={})  # in doubt: never re-sent automatically
    assert again.sent == [] and again.in_doubt == ["bob@mail.test"]
    assert server.delivered() == Counter(SUBSCRIBERS)

    forced = send_newsletter(config, environ={}, resend_in_doubt=True)  # on request only
    assert forced.sent == ["bob@mail.test"] and forced.ok
    assert server.delivered()["bob@mail.test"] == 2


def test_rejected_recipient_is_reported_and_not_retried(tmp_path: Path, smtp, built: Path) -> None:
    server, port = smtp
    server.reject = {"cy@mail.test"}
    config = project(tmp_path, built, port)
    report = send_newsletter(config, environ={})
    assert report.rejected == [("cy@mail.test", "550 5.1.1 no such mailbox")]
    assert report.sent == [a for a in SUBSCRIBERS if a != "cy@mail.test"]
    assert server.delivered() == Counter(a for a in SUBSCRIBERS if a != "cy@mail.test")
    again = send_newsletter(config, environ={})
    assert again.sent == [] and again.rejected == [] and again.already == 5
    assert server.rcpts == 5  # cy was asked once


def test_a_temporary_refusal_is_retried_by_the_next_run(tmp_path: Path, smtp, built: Path) -> None:
    server, port = smtp
    server.defer_once = {"dee@mail.test"}
    config = project(tmp_path, built, port)
    report = send_newsletter(config, environ={})
    assert report.deferred == [("dee@mail.test", "451 4.7.1 greylisted, try again later")] and not report.ok
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "send"], env={})
    assert result.exit_code == 0, result.output
    assert "sent 1 of 5 subscribers (4 already served by an earlier run)" in result.output
    assert server.delivered() == Counter(SUBSCRIBERS)


def test_one_send_at_a_time(tmp_path: Path, smtp, built: Path) -> None:
    server, port = smtp
    config = project(tmp_path, built, port)
    config.state_dir.mkdir(parents=True, exist_ok=True)
    with open(config.state_dir / "send.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another `publish send` holds it
        with pytest.raises(SendError, match="another 'publish send' is running"):
            send_newsletter(config, environ={})
    assert server.messages == []


def test_a_crash_mid_list_resumes_where_it_stopped_at_the_rate_limit(tmp_path: Path, smtp, built: Path) -> None:
    server, port = smtp
    config = project(tmp_path, built, port)
    config.smtp.rate_per_minute = 30  # one message every 2 s

    class Crash(BaseException):
        pass

    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            raise Crash  # the process dies while waiting for the rate limit

    with pytest.raises(Crash):
        send_newsletter(config, environ={}, sleep=sleep, clock=lambda: 100.0)
    assert slept == [2.0, 2.0, 2.0]  # the clock stands still: each gap waits the full interval
    assert server.delivered() == Counter(SUBSCRIBERS[:3])
    report = send_newsletter(config, environ={}, sleep=lambda _s: None)
    assert report.sent == SUBSCRIBERS[3:]
    assert server.delivered() == Counter(SUBSCRIBERS)


def test_dry_run_writes_messages_and_sends_nothing(tmp_path: Path, smtp, built: Path) -> None:
    server, port = smtp
    config = project(tmp_path, built, port)
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "send", "--dry-run"], env={})
    assert result.exit_code == 0, result.output
    assert "would send 5 of 5 subscribers" in result.output
    outbox = sorted((config.state_dir / "outbox" / "weekly-2026-w16").glob("*.eml"))
    assert [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["To"] for p in outbox] == SUBSCRIBERS
    assert server.messages == []
    assert not any(config.site_dir.rglob("*.eml")) and not any(config.site_dir.rglob("message.txt"))
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "send", "2026-W16"], env={})
    assert result.exit_code == 0, result.output
    assert server.delivered() == Counter(SUBSCRIBERS)


def test_placeholders_stop_a_send_and_doctor_lists_them(tmp_path: Path, smtp, built: Path) -> None:
    server, port = smtp
    config = project(tmp_path, built, port, "ann@mail.test\nsubscriber@example.com\n")
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "send"], env={})
    assert result.exit_code == 1 and "placeholder" in result.output and "example.com" in result.output
    assert server.messages == []
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "doctor"], env={"PUBLISHER_LLM": "none"})
    assert result.exit_code == 1
    assert "✗ newsletter:" in result.output and "subscriber@example.com" in result.output
    (tmp_path / "subscribers.csv").write_text("ann@mail.test\n")
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "doctor"], env={"PUBLISHER_LLM": "none"})
    assert "✓ newsletter:" in result.output, result.output
    config.newsletter.sender = "Operator <operator@example.com>"
    with pytest.raises(SendError, match=r"\[newsletter\] sender"):
        send_newsletter(config, environ={})
    config.newsletter.unsubscribe_url = config.newsletter.list_unsubscribe = ""
    with pytest.raises(SendError, match="no unsubscribe link"):
        send_newsletter(config, environ={})
    assert server.messages == []


def test_password_comes_from_the_environment(tmp_path: Path, smtp, built: Path) -> None:
    _, port = smtp
    config = project(tmp_path, built, port)
    config.smtp.user = "ops"
    with pytest.raises(SendError, match=r"\$PUBLISHER_SMTP_PASSWORD is empty"):
        send_newsletter(config, environ={})


@pytest.mark.parametrize(("content", "error"), [
    ("ann@mail.test\nnot-an-address\n", r"line 2: 'not-an-address' is not one valid email address"),
    ("name,mail\nAnn,ann@mail.test\n", r"line 1: no 'email' column"),
    ('email\n"ann@mail.test\r\nBcc: evil@attacker.test"\n', r"line 2: .* line break"),
    ("# nobody yet\n", "no subscribers"),
    ("Ann <ann@mail.test>\n", "bare address"),
])
def test_bad_subscribers_files_name_the_line(tmp_path: Path, content: str, error: str) -> None:
    path = tmp_path / "subscribers.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SendError, match=error):
        load_subscribers(path)


def test_plain_list_with_comments_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "subs.txt"
    path.write_text("# list\nann@mail.test\n\n  bob@mail.test  \nANN@mail.test\n", encoding="utf-8")
    assert load_subscribers(path) == ["ann@mail.test", "bob@mail.test"]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the client trusts it through [smtp] ca_file)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_and_login_with_the_password_from_the_environment(tmp_path: Path, built: Path, certificate, security) -> None:
    from aiosmtpd.smtp import AuthResult

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)  # handled=False: aiosmtpd answers 535

    server, port = Server(), _free_port()
    # aiosmtpd cannot tell that an implicit-TLS (ssl) session is encrypted: it may require TLS for AUTH
    # only under STARTTLS.
    tls = ({"ssl_context": context, "auth_require_tls": False} if security == "ssl"
           else {"tls_context": context, "require_starttls": True, "auth_require_tls": True})
    controller = aiosmtpd.Controller(server, hostname="127.0.0.1", port=port, authenticator=authenticator, **tls)
    controller.start()
    try:
        config = project(tmp_path, built, port)
        config.smtp.security, config.smtp.user, config.smtp.ca_file = security, "ops", str(cert)
        with pytest.raises(SendError, match="refused the login of 'ops'"):
            send_newsletter(config, environ={"PUBLISHER_SMTP_PASSWORD": "wrong"})
        assert server.messages == []
        report = send_newsletter(config, environ={"PUBLISHER_SMTP_PASSWORD": "s3cret"})
        assert report.sent == SUBSCRIBERS and server.delivered() == Counter(SUBSCRIBERS)
        assert logins[-1] == (b"ops", b"s3cret") and (b"ops", b"wrong") in logins
        (tmp_path / "subscribers.csv").write_text("zed@mail.test\n")
        config.smtp.ca_file = ""  # the same server, its certificate no longer trusted: nothing is sent
        with pytest.raises(SendError, match="CERTIFICATE_VERIFY_FAILED"):
            send_newsletter(config, environ={"PUBLISHER_SMTP_PASSWORD": "s3cret"})
        assert server.delivered()["zed@mail.test"] == 0
    finally:
        controller.stop()
