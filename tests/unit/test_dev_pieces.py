"""The dev loop's pieces that need no database: finding modules without importing them, the watched
directories, the status file and where an import error points, JSON arguments, URLs without passwords."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from tui.db_commands import human_size, without_password
from tui.dev.banner import describe
from tui.dev.config import DevConfig
from tui.dev.launcher import run_dev
from tui.dev.status import DevSession, DevStatus, error_status, read_status, write_status
from tui.dev.target import Target, TargetNotFound, locate, watch_dirs
from tui.dev.worker import user_traceback
from tui.start_workflow import BadInputs, parse_inputs


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "flows.py").write_text("")
    pkg = tmp_path / "myapp"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "workflows.py").write_text("")
    (pkg / "sub").mkdir()
    (pkg / "sub" / "__init__.py").write_text("")
    return tmp_path


def test_locate_paths_and_module_names_without_importing(app_dir: Path) -> None:
    assert locate("flows.py", app_dir) == Target("flows", app_dir, app_dir / "flows.py")
    assert locate("myapp/workflows.py", app_dir) == Target("myapp.workflows", app_dir, app_dir / "myapp/workflows.py")
    assert locate("myapp.workflows", app_dir) == Target("myapp.workflows", app_dir, app_dir / "myapp/workflows.py")
    assert locate("myapp.sub", app_dir) == Target("myapp.sub", app_dir, app_dir / "myapp/sub/__init__.py")
    assert "myapp" not in sys.modules


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("flow.py", "no such file: flow.py"),
        ("myapp.workflow", "no module named 'myapp.workflow'"),
        ("my-app", "'my-app' is neither a module name nor a .py path"),
    ],
)
def test_a_typo_is_one_line(app_dir: Path, spec: str, message: str) -> None:
    with pytest.raises(TargetNotFound) as caught:
        locate(spec, app_dir)
    assert str(caught.value).startswith(message)


def test_watch_defaults_to_the_modules_directories_and_nested_ones_collapse(app_dir: Path) -> None:
    targets = [locate("flows.py", app_dir), locate("myapp.workflows", app_dir)]
    assert watch_dirs(targets, [], app_dir) == [app_dir]
    assert watch_dirs(targets[1:], [], app_dir) == [app_dir / "myapp"]
    assert watch_dirs(targets, ["myapp", "myapp/sub"], app_dir) == [app_dir / "myapp"]
    with pytest.raises(TargetNotFound, match="no such directory to watch"):
        watch_dirs(targets, ["nowhere"], app_dir)


def test_run_dev_with_a_typo_starts_nothing(app_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_dev(["flow.py"], schema="durable", executor_id="dev", stop_grace=1.0, dashboard=lambda *_: 0)
    assert code == 2
    assert capsys.readouterr().err.strip() == "durable-tui dev: no such file: flow.py"


def test_config_round_trips_through_json(app_dir: Path) -> None:
    config = DevConfig(
        (locate("flows.py", app_dir),), (app_dir,), "durable", app_dir / "s.json", setup="m:f", ignore=(app_dir / "x",)
    )
    assert DevConfig.from_json(config.to_json()) == config


def test_an_import_error_points_at_the_users_line(app_dir: Path) -> None:
    source = app_dir / "broken.py"
    source.write_text("import os\n\nvalue = missing_name\n")
    try:
        exec(compile(source.read_text(), str(source), "exec"), {})
    except NameError as exc:
        status = error_status(exc, [app_dir], "import")
    assert (status.file, status.line, status.message) == (
        str(source),
        3,
        "NameError: name 'missing_name' is not defined",
    )

    try:
        compile("def f(:\n", str(source), "exec")
    except SyntaxError as exc:
        status = error_status(exc, [app_dir], "import")
    assert (status.file, status.line, status.message) == (str(source), 1, "SyntaxError: invalid syntax")


def test_status_file_and_session(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    session = DevSession(path, tmp_path / "log", [tmp_path])
    assert session.status() is None
    write_status(path, DevStatus("ready", executor_id="dev", workflows=["hello"]))
    first = session.status()
    assert first is not None and first.state == "ready" and first.workflows == ["hello"] and first.at > 0
    assert session.status() is first, "unchanged file: not read again"
    write_status(path, DevStatus("error", "import", "/x/flows.py", 3, "NameError: x"))
    assert read_status(path) == session.status() != first
    path.write_text("{not json")
    assert read_status(path) is None


def test_banner_texts(tmp_path: Path) -> None:
    ready = DevStatus("ready", executor_id="dev", code_version="ab12", workflows=["a", "b"])
    css, text = describe(ready, [Path.cwd()])
    assert css == "ready" and "worker dev ready · code ab12 · a, b · watching ./" in text.plain
    css, text = describe(DevStatus("error", "launch", message="cannot reach Postgres"), [])
    assert css == "error" and "worker could not start  cannot reach Postgres" in text.plain
    assert describe(None, [])[0] == "starting"


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [("", "", ([], {})), ('[1, "a"]', '{"k": null}', ([1, "a"], {"k": None})), (" ", "{}", ([], {}))],
)
def test_parse_inputs(args: str, kwargs: str, expected: tuple[list[object], dict[str, object]]) -> None:
    assert parse_inputs(args, kwargs) == expected


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ("[1,", "", "--args is not valid JSON: Expecting value at line 1 column 4"),
        ("42", "", '--args must be a JSON array of positional arguments, e.g. [1, "a"], not a number'),
        ("", '"x"', '--kwargs must be a JSON object of keyword arguments, e.g. {"k": 2}, not a string'),
    ],
)
def test_bad_inputs_are_one_line(args: str, kwargs: str, message: str) -> None:
    with pytest.raises(BadInputs) as caught:
        parse_inputs(args, kwargs)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://root@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test"),
        ("postgresql://a:s3cret@h:1/db?sslmode=require&password=x", "postgresql://a@h:1/db?sslmode=require"),
        ("postgresql://postgres:@/postgres?host=/tmp/d/pgdata", "postgresql://postgres@/postgres?host=/tmp/d/pgdata"),
        ("host=h user=u password=s3cret dbname=d", "user=u dbname=d host=h"),
    ],
)
def test_urls_are_shown_without_password(url: str, shown: str) -> None:
    assert without_password(url) == shown


def test_human_size() -> None:
    assert [human_size(n) for n in (512, 2048, 39_223_365)] == ["512 B", "2.0 kB", "37.4 MB"]


def test_the_logged_traceback_starts_at_the_users_code(app_dir: Path) -> None:
    config = DevConfig((locate("flows.py", app_dir),), (app_dir,), "durable", app_dir / "s.json")
    (app_dir / "flows.py").write_text("import os\nvalue = missing_name\n")
    (app_dir / "typo.py").write_text("def f(:\n")
    sys.path.insert(0, str(app_dir))
    try:
        for module, expected in (("flows", "NameError"), ("typo", "SyntaxError")):
            with pytest.raises(Exception) as caught:
                importlib.import_module(module)
            text = user_traceback(caught.value, config)
            assert "importlib" not in text and text.splitlines()[-1].startswith(expected)
            assert f'File "{app_dir / (module + ".py")}", line' in text
    finally:
        sys.path.remove(str(app_dir))
        sys.modules.pop("flows", None)


def test_the_ready_banner_names_what_fits_and_counts_the_rest():
    from tui.dev.banner import _names

    assert _names(["greet", "hello"]) == "greet, hello"
    many = [f"step-{n:02d}" for n in range(12)]
    assert _names(many, room=20) == "step-00, step-01 +10 more"
