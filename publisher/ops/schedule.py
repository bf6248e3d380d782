"""Ready-to-install units that run the Tuesday job: launchd (macOS), cron, systemd user timers.

Schedulers start jobs with a bare environment, so each unit names the `publish` executable by its
absolute path, sets a PATH on which git is found, and appends stdout and stderr to a log file.
"""

from __future__ import annotations

import plistlib
import re
import shlex
import shutil
import sys
from pathlib import Path

from publisher.errors import ConfigError

KINDS = ("launchd", "cron", "systemd")
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_SYSTEMD_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_BASE_PATH = ("/opt/homebrew/bin", "/usr/local/bin", "/usr/bin", "/bin")


def parse_weekday(value: str) -> int:
    """0 = Sunday ... 6 = Saturday (cron's and launchd's numbering); accepts names, 3-letter names, 0-7."""
    text = value.strip().lower()
    if text.isdigit() and int(text) <= 7:
        return int(text) % 7
    for number, name in enumerate(WEEKDAYS):
        if len(text) >= 3 and name.startswith(text):
            return number
    raise ConfigError(f"weekday {value!r}: use a day name such as tuesday (or tue, or 2)")


def parse_time(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ConfigError(f"time {value!r}: use HH:MM in 24-hour local time, e.g. 07:00")
    return int(match[1]), int(match[2])


def publish_command() -> list[str]:
    """How this very `publish` was started, as an absolute command (cron has no virtualenv on PATH)."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.stem == "publish" and argv0.exists():
        return [str(argv0.resolve())]
    found = shutil.which("publish")
    if found:
        return [str(Path(found).resolve())]
    return [str(Path(sys.executable).resolve()), "-m", "publisher"]


def job_path(publish: list[str]) -> str:
    """PATH for the job: where git and publish live first, then the usual system folders."""
    dirs = []
    git = shutil.which("git")
    for candidate in (git and str(Path(git).parent), str(Path(publish[0]).parent), *_BASE_PATH):
        if candidate and candidate not in dirs:
            dirs.append(candidate)
    return ":".join(dirs)


def schedule_unit(kind: str, project: Path, *, weekday: str = "Tuesday", time: str = "07:00",
                  publish_cmd: str | None = None, log: Path | None = None) -> str:
    """The unit text for `kind` that runs `publish -C PROJECT weekly --publish --push` weekly."""
    if kind not in KINDS:
        raise ConfigError(f"scheduler {kind!r}: choose one of {', '.join(KINDS)}")
    day = parse_weekday(weekday)
    hour, minute = parse_time(time)
    project = Path(project).expanduser().resolve()
    log = Path(log).expanduser().resolve() if log else project / ".publisher" / "logs" / "weekly.log"
    publish = shlex.split(publish_cmd) if publish_cmd else publish_command()
    argv = [*publish, "-C", str(project), "weekly", "--publish", "--push"]
    path = job_path(publish)
    when = f"{WEEKDAYS[day].capitalize()} {hour:02d}:{minute:02d} local time"
    if kind == "launchd":
        return _launchd(project, argv, path, log, day, hour, minute, when)
    if kind == "cron":
        return _cron(project, argv, path, log, day, hour, minute, when)
    return _systemd(project, argv, path, log, day, hour, minute, when)


def unit_name(project: Path) -> str:
    """One job per project: the name carries the project folder's name."""
    slug = re.sub(r"[^a-z0-9]+", "-", Path(project).name.lower()).strip("-") or "site"
    return f"publisher-weekly-{slug}"


def _launchd(project: Path, argv: list[str], path: str, log: Path, day: int, hour: int, minute: int,
             when: str) -> str:
    label = "org.publisher." + unit_name(project).removeprefix("publisher-")
    plist = {
        "Label": label,
        "ProgramArguments": argv,
        "WorkingDirectory": str(project),
        "EnvironmentVariables": {"PATH": path},
        "StartCalendarInterval": {"Weekday": day, "Hour": hour, "Minute": minute},
        "StandardOutPath": str(log),
        "StandardErrorPath": str(log),
        "RunAtLoad": False,
    }
    body = plistlib.dumps(plist, sort_keys=False).decode("utf-8")
    note = (f" publisher weekly job, {when}. Save as ~/Library/LaunchAgents/{label}.plist, then:\n"
            f"     mkdir -p {log.parent}\n"
            f"     launchctl bootstrap gui/$(id -u) ~/Library/LaunchAgents/{label}.plist ")
    header = "<!--" + note.replace("--", "- -") + "-->\n"  # "--" may not appear inside an XML comment
    first, _, rest = body.partition("\n")  # the XML declaration must stay the first line
    return f"{first}\n{header}{rest}"


def _cron(project: Path, argv: list[str], path: str, log: Path, day: int, hour: int, minute: int,
          when: str) -> str:
    command = (f"cd {shlex.quote(str(project))} && PATH={shlex.quote(path)} {shlex.join(argv)} "
               f">> {shlex.quote(str(log))} 2>&1")
    command = command.replace("%", r"\%")  # cron turns a bare % into a newline
    return (f"# publisher weekly job, {when}. Install with: crontab -e (paste the line below);\n"
            f"# create the log folder once: mkdir -p {shlex.quote(str(log.parent))}\n"
            f"{minute} {hour} * * {day} {command}\n")


def _systemd_quote(value: str) -> str:
    """Quote one word for a systemd unit line; % is a specifier there, so it is doubled."""
    value = value.replace("%", "%%")
    if re.fullmatch(r"[\w@%+=:,./-]+", value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _systemd(project: Path, argv: list[str], path: str, log: Path, day: int, hour: int, minute: int,
             when: str) -> str:
    name = unit_name(project)
    escaped_log = str(log).replace("%", "%%")
    service = (
        "[Unit]\n"
        f"Description=publisher weekly post-mortem for {project.name}\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"WorkingDirectory={str(project).replace('%', '%%')}\n"
        f"Environment={_systemd_quote('PATH=' + path)}\n"
        f"ExecStart={' '.join(_systemd_quote(word) for word in argv)}\n"
        f"StandardOutput=append:{escaped_log}\n"
        f"StandardError=append:{escaped_log}\n"
    )
    timer = (
        "[Unit]\n"
        f"Description=Run {name} every {when}\n\n"
        "[Timer]\n"
        f"OnCalendar={_SYSTEMD_DAYS[day]} *-*-* {hour:02d}:{minute:02d}:00\n"
        "Persistent=true\n\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )
    return (
        f"# publisher weekly job, {when} (systemd user units).\n"
        f"# Save the first unit as ~/.config/systemd/user/{name}.service\n"
        f"# and the second as ~/.config/systemd/user/{name}.timer, then run:\n"
        f"#   mkdir -p {log.parent}\n"
        f"#   systemctl --user daemon-reload && systemctl --user enable --now {name}.timer\n"
        f"#   loginctl enable-linger \"$USER\"   # so it also runs while you are logged out\n\n"
        f"# ---- {name}.service ----\n{service}\n"
        f"# ---- {name}.timer ----\n{timer}"
    )
