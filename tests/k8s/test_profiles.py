"""The one profile definition, as the local demo hub reads it."""

from __future__ import annotations

import pytest


def test_local_choices_mirror_the_kubernetes_list(profiles, values):
    local = profiles.local_profile_choices()
    k8s = values["singleuser"]["profileList"]
    assert [c["slug"] for c in local] == [p["slug"] for p in k8s]
    assert [c["display_name"] for c in local] == [p["display_name"] for p in k8s]
    assert [c["allowed_groups"] for c in local] == [p.get("allowed_groups", []) for p in k8s]
    runnable = [c["slug"] for c in local if c["runs_locally"]]
    assert runnable == ["cpu", "voila"]  # no GPU, no Kubernetes locally
    assert sum(c["default"] for c in local) == 1


@pytest.mark.parametrize(
    "groups, expected",
    [
        ([], ["cpu", "voila"]),
        (["proposal-20261234"], ["cpu", "voila"]),
        (["beamtime-2026-042"], ["cpu", "gpu", "voila"]),
        (["daisy-gpu"], ["cpu", "gpu", "voila"]),
        (["beamtime"], ["cpu", "voila"]),  # the pattern needs the dash
    ],
)
def test_group_rule(hub_hooks, profiles, groups, expected):
    local = profiles.local_profile_choices()
    assert [c["slug"] for c in local if hub_hooks.group_allowed(c, groups)] == expected
    filtered = hub_hooks.allowed_profiles(local, groups)
    assert [c["slug"] for c in filtered] == expected and sum(c["default"] for c in filtered) == 1


def test_default_moves_when_the_default_profile_is_not_allowed(hub_hooks):
    plist = [{"slug": "big", "default": True, "allowed_groups": ["staff"]}, {"slug": "small"}]
    assert hub_hooks.allowed_profiles(plist, []) == [{"slug": "small", "default": True}]
    assert plist[1] == {"slug": "small"}  # the shared list is not modified


def test_shm_and_guarantees_stay_within_limits(profiles):
    for p in profiles.PROFILES:
        r = p.resources
        assert 0 < r.guarantee_fraction <= 1
        assert 0 < r.shm_gb < r.memory_gb
        assert (r.gpus > 0) == (p.kind == "gpu") == (p.image == "gpu")
    with pytest.raises(KeyError, match="known: cpu, gpu, voila"):
        profiles.profile("tpu")


def _local_spawner(profiles, db_name: str, groups: list[str]):
    from jupyterhub import orm
    from jupyterhub.spawner import LocalProcessSpawner
    from jupyterhub.user import User
    from traitlets.config import Config

    db = orm.new_session_factory("sqlite://")()
    u = orm.User(name=db_name)
    db.add(u)
    for g in groups:
        u.groups.append(orm.Group(name=g))
    db.commit()
    c = Config()
    profiles.configure_local_spawner(c)
    return LocalProcessSpawner(config=c, user=User(u, settings={}))


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_local_hub_shows_the_same_menu_and_runs_only_local_profiles(profiles, anyio_backend):
    sp = _local_spawner(profiles, "carol", ["beamtime-1"])
    form = await sp.get_options_form()
    assert "CPU (4 cores, 16 GB)" in form and "Voila app only" in form
    assert 'value="gpu" disabled>GPU (1 NVIDIA GPU, 8 cores, 64 GB) (facility cluster only)' in form
    opts = sp.options_from_form({"profile": ["voila"]})
    await sp._run_apply_user_options(opts)  # what JupyterHub's User.spawn calls
    assert sp.default_url == "/voila/tree" and sp.environment["DAISY_PROFILE"] == "voila"
    from tornado.web import HTTPError

    with pytest.raises(HTTPError, match="HTTP 400.*facility's Kubernetes cluster"):
        await sp._run_apply_user_options({"profile": "gpu"})
    await sp._run_apply_user_options({})
    assert sp.default_url == "/lab"
    plain = _local_spawner(profiles, "dave", [])
    assert "GPU" not in await plain.get_options_form()
    with pytest.raises(HTTPError, match="HTTP 400.*no profile 'gpu'"):
        await plain._run_apply_user_options({"profile": "gpu"})
