"""The workbench's models and panels without a browser: store <-> console, algorithm runs, log, replay."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from daisy_widgets.core.datastore import DataStore
from daisy_widgets.core.datastore_objects import table
from daisy_widgets.workbench.algorithms import (
    RunRequest,
    algorithms_by_category,
    registered,
    search_algorithms,
)
from daisy_widgets.workbench.events import EventLog
from daisy_widgets.workbench.objects import SessionObjects, console_name, describe_object, object_kind

ROOT = Path(__file__).resolve().parents[2]


# -- objects -----------------------------------------------------------------------------------
def test_console_names_are_python_identifiers():
    assert console_name("x") == "x"
    assert console_name("work/smooth") == "work_smooth"
    assert console_name("2d map") == "_2d_map"
    assert console_name("class") == "_class"
    for key in ("a/b/c", "1", "x-y", "lambda"):
        assert console_name(key).isidentifier()


def test_kinds_and_descriptions():
    assert object_kind(np.zeros((4, 5))) == "image"
    assert object_kind(np.zeros((3, 4, 5))) == "image"
    assert object_kind(np.zeros(7)) == "profile"
    assert object_kind(np.float64(1.0)) == "scalar"
    lc = table(dict(time=np.arange(5.0), rate=np.ones(5)))
    spec = table(dict(channel=np.arange(5), counts=np.ones(5)))
    assert object_kind(lc) == "lightcurve" and object_kind(spec) == "spectrum"
    assert object_kind(table(dict(a=np.arange(3)))) == "table"
    assert object_kind(np.zeros(7), {"kind": "spectrum"}) == "spectrum"  # the attribute wins
    info = describe_object("g/x", np.zeros((64, 64), np.float32), {"units": "mm"})
    assert (info.shape, info.dtype, info.size, info.depth, info.name) == (
        (64, 64),
        "float32",
        "16.0 KiB",
        1,
        "g_x",
    )
    assert info.label == "x  (64, 64) float32  16.0 KiB  image" and info.attrs == (("units", "mm"),)


def test_console_objects_enter_the_store_and_leave_with_their_name():
    ns: dict = {"np": np, "n": 3, "_hidden": np.zeros(2)}
    objects = SessionObjects(namespace=ns)
    seen = []
    objects.on_change(lambda o: seen.append(o.version))
    ns["x"] = np.arange(6.0).reshape(2, 3)
    assert objects.sync_from_namespace() == ["x"]
    assert objects.store["x"] is ns["x"] and seen == [1]
    assert objects.sync_from_namespace() == []  # nothing new: no change, no redraw
    ns["x"] = ns["x"] * 2  # re-assigned
    assert objects.sync_from_namespace() == ["x"]
    np.testing.assert_array_equal(objects.store["x"], [[0, 2, 4], [6, 8, 10]])
    del ns["x"]
    assert objects.sync_from_namespace() == ["x"] and "x" not in objects.store
    assert "np" not in objects.store and "n" not in objects.store and "_hidden" not in objects.store


def test_store_objects_reach_the_console_by_name_and_groups_are_kept():
    ns: dict = {}
    objects = SessionObjects(DataStore({"work/smooth": np.ones((2, 2)), "raw": np.zeros(3)}), ns)
    assert (
        objects.publish("work/smooth") == "work_smooth" and ns["work_smooth"] is objects.store["work/smooth"]
    )
    ns["work"] = np.zeros(2)  # a console name over a group: the group stays
    objects.sync_from_namespace()
    assert objects.store["work/smooth"].shape == (2, 2)
    rows = objects.rows()
    assert [(r.key, r.is_group) for r in rows] == [("raw", False), ("work", True), ("work/smooth", False)]
    with pytest.raises(KeyError, match="no object 'nope'"):
        objects.info("nope")


# -- algorithms ------------------------------------------------------------------------------
def test_registry_by_category_and_search():
    groups = algorithms_by_category()
    assert "core.scale" in groups["core/arithmetic"] and "core.smooth" in groups["core/filters"]
    assert sum(len(v) for v in groups.values()) == len(registered())
    found = search_algorithms("smooth")
    assert "core.smooth" in found.get("core/filters", [])
    assert all(
        "smooth" in f"{n} {c} {registered()[n].summary()}".lower() for c, ns in found.items() for n in ns
    )
    assert search_algorithms("no-such-algorithm-xyz") == {}


def test_run_request_problems_are_keyed_by_field():
    store = DataStore({"img": np.ones((8, 9)), "line": np.ones(5), "work/a": np.ones(2)})
    missing = RunRequest("core.smooth", inputs={"data": ""})
    assert "no input chosen" in missing.problems(store)["data"][0]
    wrong = RunRequest("core.smooth", inputs={"data": "line"})
    assert "expected 2 or 3 dimensions" in wrong.problems(store)["data"][0]
    assert "got shape (5,)" in wrong.problems(store)["data"][0]
    gone = RunRequest("core.smooth", inputs={"data": "nothing"})
    assert "not in the session's data store" in gone.problems(store)["data"][0]
    bad_param = RunRequest("core.smooth", params={"iterations": 0}, inputs={"data": "img"})
    assert list(bad_param.problems(store)) == ["iterations"]
    onto_group = RunRequest("core.scale", inputs={"data": "img"}, outputs={"data": "work"})
    assert "is a group" in onto_group.problems(store)["output:data"][0]
    ok = RunRequest("core.scale", params={"factor": 2.0}, inputs={"data": "img"})
    assert ok.problems(store) == {} and ok.output_keys() == {"data": "img_scale"}


def test_replay_line_runs_the_same_step_in_a_script():
    from daisy_widgets.workbench.replay import daisy_run

    req = RunRequest("core.scale", params={"factor": 2.5, "offset": 0.0}, inputs={"data": "work/x"})
    line = req.replay_line()
    assert line == 'work_x_scale = daisy_run("core.scale", {"data": work_x}, factor=2.5)["data"]'
    ns = {"daisy_run": daisy_run, "work_x": np.arange(4.0)}
    exec(line, ns)  # a script: computed through the engine
    np.testing.assert_allclose(ns["work_x_scale"], np.arange(4.0) * 2.5)
    multi = RunRequest("core.info", inputs={"data": "img"}).replay_line()
    assert multi.startswith('_r = daisy_run("core.info", {"data": img}); ')
    assert 'img_info_length, img_info_size, img_info_ndim = _r["length"], _r["size"], _r["ndim"]' in multi


def test_replay_after_a_toolbox_run_returns_its_result_without_computing_again(monkeypatch):
    from daisy_widgets.workbench import replay

    x = np.arange(3.0)
    out = np.array([7.0, 7.0, 7.0])  # not what scale would compute: shows it is the remembered result
    replay.remember("core.scale", {"factor": 2.0}, "inprocess", {"data": x}, {"data": out})
    assert replay.daisy_run("core.scale", {"data": x}, factor=2.0)["data"] is out
    # used once; another object, other parameters: computed
    np.testing.assert_allclose(replay.daisy_run("core.scale", {"data": x}, factor=2.0)["data"], x * 2)
    replay.remember("core.scale", {"factor": 2.0}, "inprocess", {"data": x}, {"data": out})
    np.testing.assert_allclose(replay.daisy_run("core.scale", {"data": x.copy()}, factor=2.0)["data"], x * 2)
    np.testing.assert_allclose(replay.daisy_run("core.scale", {"data": x}, factor=3.0)["data"], x * 3)


# -- the log -----------------------------------------------------------------------------------
def test_event_log_turns_engine_events_into_lines_with_time_and_step():
    from daisy_widgets.core.engine import run_workflow
    from daisy_widgets.core.workflow import Step, Workflow

    log = EventLog()
    wf = Workflow(
        name="two",
        steps=[
            Step(
                id="a",
                algorithm="core.scale",
                params={"factor": 2},
                inputs={"data": "x"},
                outputs={"data": "y"},
            ),
            Step(
                id="b",
                algorithm="core.scale",
                params={"factor": 3},
                inputs={"data": "y"},
                outputs={"data": "z"},
            ),
        ],
    )
    store = run_workflow(wf, DataStore({"x": np.ones(4)}), progress=log.progress("run 1"))
    np.testing.assert_allclose(store["z"], 6.0)
    text = log.text()
    assert "[progress] run 1/a: step 1/2 started" in text and "[progress] run 1/b: step 2/2 started" in text
    assert text.count("finished in") == 1
    with pytest.raises(ValueError, match="log level"):
        log.add("loud", "x")


# -- the panels, driven from Python ------------------------------------------------------------
def _wait(thread):
    thread.join(60)
    import time

    for _ in range(100):  # the done callback runs right after the job in the same thread; reenable after
        if not thread.is_alive():
            break
        time.sleep(0.05)


def test_toolbox_run_writes_outputs_publishes_them_logs_and_replays():
    from daisy_widgets.workbench.layout import Workbench

    ns: dict = {}
    wb = Workbench(namespace=ns)
    ns["img"] = np.random.default_rng(0).random((6, 7))
    wb.objects.sync_from_namespace()
    assert any("img  (6, 7) float64" in b.description for b in wb.data.tree.children)
    assert wb.data.select("img") == "img"
    wb.algorithms.select("core.scale")
    assert wb.algorithms.input_pickers["data"].value == "img"  # the picked object is offered first
    wb.algorithms.form.set_values({"factor": 4.0})
    _wait(wb.algorithms.run())
    np.testing.assert_allclose(wb.store["img_scale"], ns["img"] * 4.0)
    assert ns["img_scale"] is wb.store["img_scale"]
    assert any("img_scale" in b.description for b in wb.data.tree.children)
    assert "wrote img_scale (6, 7) float64" in wb.log.text()
    assert wb.replayed == ['img_scale = daisy_run("core.scale", {"data": img}, factor=4.0)["data"]']
    assert wb.algorithms.progress.status.value == "done"


def test_bad_input_is_shown_at_the_field_and_in_the_log_and_the_toolbox_goes_on():
    from daisy_widgets.workbench.layout import Workbench

    ns: dict = {"line": np.ones(5), "img": np.ones((4, 4))}
    wb = Workbench(namespace=ns)
    wb.objects.sync_from_namespace()
    wb.algorithms.select("core.smooth")
    wb.algorithms.input_pickers["data"].value = ""
    assert wb.algorithms.run() is None
    assert "no input chosen" in wb.algorithms.input_errors["data"].value
    wb.algorithms.input_pickers["data"].value = "line"
    assert wb.algorithms.run() is None
    assert "expected 2 or 3 dimensions" in wb.algorithms.input_errors["data"].value
    assert [e.level for e in wb.log.entries].count("error") == 2
    assert "not run: data: &#x27;line&#x27;" not in wb.log.text() and "got shape (5,)" in wb.log.text()
    wb.algorithms.input_pickers["data"].value = "img"
    _wait(wb.algorithms.run())
    assert wb.algorithms.input_errors["data"].value == ""
    assert wb.store["img_smooth"].shape == (4, 4)


def test_plot_windows_by_kind_and_previews():
    from daisy_widgets.workbench.plots import plot_window, preview

    cases = {
        "image": np.random.default_rng(1).random((5, 8, 9)),
        "profile": np.linspace(0, 1, 50),
        "spectrum": table(dict(channel=np.arange(10), counts=np.arange(1.0, 11.0))),
        "lightcurve": table(dict(time=np.arange(10.0), rate=np.ones(10))),
        "table": table(dict(a=np.arange(3), b=np.arange(3.0))),
    }
    for kind, value in cases.items():
        w = plot_window(kind, value)
        assert f"daisy-plot-{kind}" in w._dom_classes, kind
        p = preview(kind, value)
        assert f"daisy-preview-{kind}" in p._dom_classes, kind
    spec = plot_window("s", cases["spectrum"]).children[1]
    assert type(spec.marks[0].scales["y"]).__name__ == "LogScale"  # counts on a log scale
    np.testing.assert_array_equal(spec.marks[0].x, np.arange(10))


def test_files_section_adds_hdf5_datasets_and_npy(tmp_path):
    from daisy_widgets.workbench.layout import Workbench

    with h5py.File(tmp_path / "scan.h5", "w") as f:
        f["exchange/data"] = np.ones((3, 4, 5), np.float32)
        f["exchange/theta"] = np.linspace(0, 180, 3)
    np.save(tmp_path / "flat.npy", np.arange(4.0))
    wb = Workbench(namespace={})
    assert wb.data.add_file(tmp_path / "scan.h5") == ["scan/exchange/data", "scan/exchange/theta"]
    assert wb.data.add_file(tmp_path / "flat.npy") == ["flat"]
    assert wb.objects.info("scan/exchange/data").shape == (3, 4, 5)


def test_builder_results_join_the_session_store(tmp_path):
    from daisy_widgets.workbench.layout import Workbench

    wb = Workbench(namespace={}, store=DataStore({"img": np.ones((4, 4))}))
    builder = wb.open_builder()
    builder.add_step("core.scale", params={"factor": 2.0}, inputs={"data": "img"})
    builder.add_step("core.smooth")
    _wait(builder.run())
    import time

    for _ in range(100):
        if "work/smooth" in wb.store:
            break
        time.sleep(0.05)
    assert wb.store["work/scale"].shape == (4, 4) and "work/smooth" in wb.store
    assert "2 step(s) ran; wrote work/scale, work/smooth" in wb.log.text()
    builder.path.value = str(tmp_path / "wf.json")
    path = wb.open_workflow_json()
    assert [s["algorithm"] for s in json.loads(path.read_text())["steps"]] == ["core.scale", "core.smooth"]


def test_server_root_from_the_kernel_session(tmp_path):
    from daisy_widgets.workbench.layout import server_root

    cwd = tmp_path / "home" / "notebooks"
    sessions = [
        {"path": "notebooks/daisy-console", "kernel": {"id": "k1"}},
        {"path": "notebooks/workbench.ipynb", "kernel": {"id": "k1"}},
        {"path": "other.ipynb", "kernel": {"id": "k2"}},
    ]
    assert server_root(sessions, "k1", cwd, session_file="") == (tmp_path / "home", "notebooks")
    assert server_root(sessions, "k3", cwd, session_file="") == (cwd, "")
    # the hub links notebooks/ into the home: the working folder is the link's target, the session file is not
    linked = server_root(sessions, "k1", tmp_path / "repo" / "notebooks", "/home/u/notebooks/workbench.ipynb")
    assert linked == (Path("/home/u"), "notebooks")


# -- the kernel, its notebook, the index and the CLI -------------------------------------------
def test_kernelspec_notebook_and_index_link():
    from daisy_widgets.apps_index import Resources, index_html
    from daisy_widgets.workbench.kernel import KERNEL_SPEC, workbench_notebook_text

    assert json.loads((ROOT / "kernels" / "daisy-workbench" / "kernel.json").read_text()) == KERNEL_SPEC
    committed, made = (
        json.loads(t)
        for t in ((ROOT / "notebooks" / "workbench.ipynb").read_text(), workbench_notebook_text())
    )
    for nb in (committed, made):  # the Python version is the kernel's
        nb["metadata"]["language_info"].pop("version")
    assert committed == made
    html = index_html([], Resources(False, "", True, ""), lab="/user/u/lab")
    assert 'href="/user/u/lab/workspaces/daisy-workbench/tree/notebooks/workbench.ipynb?reset"' in html


def test_cli_workbench_command_line(tmp_path):
    from daisy_widgets.cli import build_parser
    from daisy_widgets.commands.workbench import lab_command

    args = build_parser().parse_args(["workbench", "--dir", str(tmp_path), "--port", "0", "--no-browser"])
    assert args.func.__name__ == "run_workbench"
    cmd = lab_command(tmp_path, 9999, "workbench.ipynb", tmp_path / "ws", browser=False, token="t")
    assert "--ServerApp.ip=127.0.0.1" in cmd and "--no-browser" in cmd and "--port=9999" in cmd
    assert "--ServerApp.default_url=/lab/workspaces/daisy-workbench/tree/workbench.ipynb" in cmd


def test_toolbox_runs_on_dask_and_the_log_shows_the_cluster():
    from daisy_widgets.core.engine import DaskEngine
    from daisy_widgets.workbench.events import cluster_state
    from daisy_widgets.workbench.layout import Workbench

    engine = DaskEngine(n_workers=2, threads_per_worker=1, processes=False, memory_limit="1GB")
    try:
        ns: dict = {"stack": np.arange(24.0).reshape(4, 2, 3)}
        wb = Workbench(namespace=ns)
        wb.algorithms._dask_engine = engine
        wb.objects.sync_from_namespace()
        wb.algorithms.select("core.scale")
        wb.algorithms.input_pickers["data"].value = "stack"
        wb.algorithms.form.set_values({"factor": -1.0})
        wb.algorithms.engine.value = "dask"
        _wait(wb.algorithms.run())
        np.testing.assert_allclose(wb.store["stack_scale"], -ns["stack"])
        assert isinstance(wb.store["stack_scale"], np.ndarray)  # computed, not left on the workers
        assert wb.replayed[-1].endswith("factor=-1.0, engine='dask')[\"data\"]")
        state = cluster_state(engine)
        assert "2 workers, 2 threads" in state and "GiB memory in use" in state
    finally:
        engine.close()


def test_catalog_browser_walks_the_service_and_loads_arrays_and_tables():
    pd = pytest.importorskip("pandas")
    pytest.importorskip("tiled.server")
    from tiled.adapters.array import ArrayAdapter
    from tiled.adapters.mapping import MapAdapter
    from tiled.client import Context, from_context
    from tiled.server.app import build_app

    from daisy_widgets.workbench.catalog import CatalogBrowser

    try:
        from tiled.adapters.table import TableAdapter
    except ImportError:  # older tiled
        from tiled.adapters.dataframe import DataFrameAdapter as TableAdapter

    image = np.arange(12.0).reshape(3, 4)
    lc = pd.DataFrame({"time": np.arange(5.0), "rate": np.ones(5)})
    tree = MapAdapter(
        {
            "tomo": MapAdapter({"scan": ArrayAdapter.from_array(image, metadata={"units": "counts"})}),
            "hxmt": MapAdapter({"lc": TableAdapter.from_pandas(lc, npartitions=1)}),
        }
    )
    with Context.from_app(build_app(tree)) as context:
        client = from_context(context, structure_clients="dask")
        objects = SessionObjects(namespace={})
        cat = CatalogBrowser(client)
        assert dict(cat.entries()) == {"tomo": "container", "hxmt": "container"}
        cat.enter("tomo")
        assert cat.entries() == [("scan", "array")]
        assert cat.load("scan", objects) == "catalog/tomo/scan"
        np.testing.assert_array_equal(np.asarray(objects.store["catalog/tomo/scan"]), image)
        assert objects.store.attrs("catalog/tomo/scan")["units"] == "counts"
        cat.up()
        cat.enter("hxmt")
        key = cat.load("lc", objects)
        assert object_kind(objects.store[key]) == "lightcurve"
        with pytest.raises(KeyError, match="no entry 'hxmt/nope'"):
            cat.enter("nope")
