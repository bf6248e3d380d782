"""`publish schedule --print`: units that parse and run the weekly job with logging."""

from __future__ import annotations

import configparser
import plistlib
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from publisher.cli import main
from publisher.errors import ConfigError
from publisher.ops.schedule import schedule_unit

PUBLISH = "/opt/tools/bin/publish"


def systemd_units(text: str) -> dict[str, configparser.ConfigParser]:
    """Split the printed pair on its '# ---- NAME ----' markers and parse each unit."""
    units: dict[str, configparser.ConfigParser] = {}
    chunks = text.split("# ---- ")[1:]
    for chunk in chunks:
        name, _, body = chunk.partition(" ----\n")
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str  # systemd keys are case-sensitive
        parser.read_string(body)
        units[name] = parser
    return units


def test_launchd_plist_runs_tuesday_7_with_log(tmp_path: Path) -> None:
    text = schedule_unit("launchd", tmp_path / "site", publish_cmd=PUBLISH)

    plist = plistlib.loads(text.encode())
    assert plist["ProgramArguments"] == [PUBLISH, "-C", str(tmp_path / "site"), "weekly", "--publish", "--push"]
    assert plist["StartCalendarInterval"] == {"Weekday": 2, "Hour": 7, "Minute": 0}
    log = str(tmp_path / "site" / ".publisher" / "logs" / "weekly.log")
    assert plist["StandardOutPath"] == plist["StandardErrorPath"] == log
    assert "/opt/tools/bin" in plist["EnvironmentVariables"]["PATH"].split(":")


def test_cron_line_has_five_fields_and_logs_both_streams(tmp_path: Path) -> None:
    project = tmp_path / "my site"  # a space must survive the shell
    text = schedule_unit("cron", project, publish_cmd=PUBLISH, weekday="friday", time="18:30")

    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(lines) == 1
    fields = lines[0].split(maxsplit=5)
    assert fields[:5] == ["30", "18", "*", "*", "5"]
    words = shlex.split(fields[5])
    assert words[:3] == ["cd", str(project), "&&"]
    assert words[4:11] == [PUBLISH, "-C", str(project), "weekly", "--publish", "--push", ">>"]
    assert words[11:] == [str(project / ".publisher" / "logs" / "weekly.log"), "2>&1"]
    assert words[3].startswith("PATH=")


def test_cron_escapes_percent(tmp_path: Path) -> None:
    text = schedule_unit("cron", tmp_path / "100%", publish_cmd=PUBLISH)
    line = text.splitlines()[-1]
    assert line.count("100\\%") == 3  # cd, -C and the log path
    assert "100%" not in line.replace("100\\%", "")


def test_systemd_service_and_timer(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "publish.log"
    text = schedule_unit("systemd", tmp_path / "site", publish_cmd=PUBLISH, log=log)

    units = systemd_units(text)
    assert set(units) == {"publisher-weekly-site.service", "publisher-weekly-site.timer"}
    service = units["publisher-weekly-site.service"]["Service"]
    assert service["ExecStart"] == f"{PUBLISH} -C {tmp_path / 'site'} weekly --publish --push"
    assert service["StandardOutput"] == service["StandardError"] == f"append:{log}"
    assert service["Environment"].startswith("PATH=")
    timer = units["publisher-weekly-site.timer"]["Timer"]
    assert timer["OnCalendar"] == "Tue *-*-* 07:00:00"
    assert timer["Persistent"] == "true"
    assert "~/.config/systemd/user/publisher-weekly-site.timer" in text


def test_default_command_is_an_absolute_publish(tmp_path: Path) -> None:
    plist = plistlib.loads(schedule_unit("launchd", tmp_path).encode())
    assert Path(plist["ProgramArguments"][0]).is_absolute()
    assert plist["ProgramArguments"][-3:] == ["weekly", "--publish", "--push"]


@pytest.mark.parametrize("kwargs, message", [
    ({"weekday": "someday"}, "weekday 'someday'"),
    ({"time": "25:00"}, "time '25:00'"),
])
def test_bad_schedule_is_refused(tmp_path: Path, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        schedule_unit("cron", tmp_path, **kwargs)


def test_cli_prints_unit_for_project(tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["-C", str(tmp_path), "schedule", "--print", "cron", "--weekday", "mon",
                                    "--time", "06:15"])
    assert out.exit_code == 0, out.output
    assert f"15 6 * * 1 cd {tmp_path} &&" in out.output
    assert f"-C {tmp_path} weekly --publish --push" in out.output

    bad = CliRunner().invoke(main, ["-C", str(tmp_path), "schedule", "--print", "cron", "--time", "7am"])
    assert bad.exit_code == 1 and "HH:MM" in bad.stderr
