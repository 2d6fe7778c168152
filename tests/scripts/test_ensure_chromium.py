"""make test's browser set-up: scripts/ensure_chromium.sh, run with a fake PATH and id."""

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensure_chromium.sh"


def _fake_bin(tmp_path: Path, *, uid: str, with_apt: bool, chromium: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    if with_apt:
        # A fake apt-get that records its arguments and "installs" Chromium on install.
        (bin_dir / "apt-get").write_text(
            f'#!/bin/sh\necho "$@" >> {tmp_path}/apt.log\n'
            f'[ "$1" = install ] && printf "#!/bin/sh\\n" > {chromium} && chmod +x {chromium}\n'
            "exit 0\n"
        )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return bin_dir


def _run(tmp_path: Path, *, uid: str, with_apt: bool, present: bool = False):
    chromium = tmp_path / "chromium"
    if present:
        chromium.write_text("#!/bin/sh\n")
        chromium.chmod(0o755)
    bin_dir = _fake_bin(tmp_path, uid=uid, with_apt=with_apt, chromium=chromium)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "CHROMIUM": str(chromium),
        "HOME": os.environ.get("HOME", "/"),
    }
    return subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30
    )


def test_it_does_nothing_when_chromium_is_there(tmp_path: Path) -> None:
    result = _run(tmp_path, uid="0", with_apt=True, present=True)
    assert result.returncode == 0
    assert not (tmp_path / "apt.log").exists()


def test_it_installs_debians_chromium_as_root_with_apt_get(tmp_path: Path) -> None:
    result = _run(tmp_path, uid="0", with_apt=True)
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "apt.log").read_text()
    assert "update -qq" in log
    assert "install -y -qq chromium" in log
    assert "playwright" not in result.stdout + result.stderr


def test_it_fails_at_once_naming_the_command_when_not_root(tmp_path: Path) -> None:
    result = _run(tmp_path, uid="1000", with_apt=True)
    assert result.returncode == 1
    assert "apt-get install -y -qq chromium" in result.stderr
    assert not (tmp_path / "apt.log").exists()
