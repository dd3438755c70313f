"""Shared simulated observations for the HXMT tests (short exposures, simulated once per session)."""

from __future__ import annotations

import warnings

import pytest

from daisy_widgets.core.registry import PluginWarning

#: seconds after the simulator's default start where a ~700 s window has good time
#: (Earth occultation and SAA-related cuts on both sides)
OFFSET = 950.0
EXPOSURE = 700.0
PULSAR_F = 29.6


@pytest.fixture(autouse=True)
def _quiet_plugins():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        yield


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory):
    """One simulated Crab exposure with HE, ME and LE (photon index 2.1, 29.6 Hz pulsar, 30 % pulsed)."""
    from daisy_widgets.hxmt.simulate import DEFAULT_START, SimulationConfig, simulate_observation

    root = tmp_path_factory.mktemp("l1")
    cfg = SimulationConfig(
        exposure=EXPOSURE,
        start=DEFAULT_START + OFFSET,
        photon_index=2.1,
        norm=9.7,
        nh=0.0,  # a bare power law: the tests fit one (the default Crab is absorbed, nh 0.35e22)
        pulsar_frequency=PULSAR_F,
        pulsed_fraction=0.3,
        seed=11,
    )
    return simulate_observation(root, cfg)


@pytest.fixture(scope="session")
def products(sim_dir, tmp_path_factory):
    """Pipeline products of each instrument: ``{inst: (out_dir, store)}`` (HE with a Z^2 search)."""
    from daisy_widgets.hxmt.pipeline import run_pipeline

    out = {}
    for inst in ("HE", "ME", "LE"):
        d = tmp_path_factory.mktemp(f"prod_{inst}")
        kw = {"search": (29.55, 29.65)} if inst == "HE" else {}
        out[inst] = (d, run_pipeline(sim_dir, inst, d, **kw))
    return out


#: the 3000 s exposure of issue 15: a power law of index 1.73 seen through several GTIs, the Crab
#: pulsar following the simulator's default ephemeris
LONG_INDEX = 1.73
NOMINAL_BANDS = {"HE": (28.0, 250.0), "ME": (10.0, 30.0), "LE": (1.0, 10.0)}


@pytest.fixture(scope="session")
def long_obs(tmp_path_factory):
    """A 3000 s exposure (HE, ME, LE; several GTIs) and its pipeline products: ``(l1_dir, {inst: out})``."""
    from daisy_widgets.hxmt.pipeline import run_pipeline
    from daisy_widgets.hxmt.simulate import DEFAULT_START, SimulationConfig, simulate_observation

    root = tmp_path_factory.mktemp("long")
    cfg = SimulationConfig(
        exposure=3000.0, start=DEFAULT_START + OFFSET, photon_index=LONG_INDEX, norm=9.7, nh=0.0, seed=4
    )
    l1 = simulate_observation(root / "l1", cfg)
    outs = {}
    for inst in ("HE", "ME", "LE"):
        outs[inst] = root / inst
        run_pipeline(l1, inst, outs[inst])
    return l1, outs


@pytest.fixture(scope="session")
def das():
    """The helpers of ``hxmtdas_files.py`` (files written as HXMTDAS writes them), loaded by path."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "hxmt_test_das_files", Path(__file__).with_name("hxmtdas_files.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
