"""What the Dockerfile runs, without a base image: build the wheel, install it into a clean virtual
environment outside the checkout, run `fathom-os check`, then start the bot from there.

The new environment gets the wheel alone (`--no-deps`); its dependencies come from the project's
own environment through a path entry, which adds that directory to sys.path without running its
.pth files, so the checkout's editable install is not visible: every `bot`/`services` import and
every template must come from the wheel.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import urllib.request
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ["bot", "services", "handlers", "blocks", "os_templates", "pyproject.toml", "README.md"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in SOURCES:  # a copy: building in the checkout would write build/ into it
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    dist = root / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, src],
        check=True,
        cwd=root,
    )
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=False)
    site = Path(
        subprocess.check_output(
            [env_dir / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    (site / "zz_project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next(dist.glob("fathom_os-*.whl"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            env_dir / "bin" / "python",
            "install",
            "-q",
            "--no-deps",
            wheel,
        ],
        check=True,
        cwd=root,
    )
    return env_dir


def _env(work: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {
        **keep,
        "DATABASE_URL": f"sqlite+aiosqlite:///{work / 'data' / 'bot.sqlite3'}",
        "OS_REPO_PATH": str(work / "os"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        **extra,
    }


def test_code_and_package_data_come_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    probe = (
        "import bot, services.os_repo as r, bot.db as d, bot.sandbox as s, pathlib;"
        "print(bot.__file__); print(r.SKELETON_DIR.is_dir());"
        "print((d.MIGRATIONS / 'versions').is_dir());"
        "print((pathlib.Path(s.__file__).parent / 'static' / 'index.html').is_file())"
    )
    out = subprocess.check_output(
        [installed / "bin" / "python", "-c", probe], cwd=tmp_path, env=_env(tmp_path), text=True
    )
    where, skeleton, migrations, static = out.split()
    assert where.startswith(str(installed)) and not where.startswith(str(REPO))
    assert (skeleton, migrations, static) == ("True", "True", "True")


def test_check_runs_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    env = _env(tmp_path, FATHOM_API_KEY="k")
    subprocess.run([installed / "bin" / "fathom-os", "db", "upgrade"], cwd=tmp_path, env=env, check=True)
    result = subprocess.run(
        [installed / "bin" / "fathom-os", "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "[ok  ] database: sqlite" in result.stdout, result.stderr
    assert "polling mode" in result.stdout


def test_the_bot_starts_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    port, sandbox = _free_port(), _free_port()
    proc = subprocess.Popen(
        [installed / "bin" / "fathom-os", "run"],
        cwd=tmp_path,
        env=_env(tmp_path, WEBHOOK_PORT=str(port), SANDBOX_PORT=str(sandbox)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:  # the bot prints this line once it serves
            seen.append(line)
            if line.startswith("Fathom OS running."):
                break
        else:
            pytest.fail(f"the bot exited with {proc.wait()} before serving:\n{''.join(seen[-30:])}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            assert b"fathom_os_webhook_deliveries_total" in response.read()
        assert (tmp_path / "os" / "fathom-os.yml").is_file()  # the OS was made from the wheel's skeleton
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
