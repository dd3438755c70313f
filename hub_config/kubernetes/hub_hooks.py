"""Daisy's additions to KubeSpawner, run inside the JupyterHub pod.

The Helm values ship this file into the hub pod (``hub.extraFiles``) and
``hub.extraConfig`` calls :func:`configure` after the chart has turned the
values into ``c.KubeSpawner`` settings. Standard library only (the hub image
has no Daisy package).

What it adds:

* **Profiles by group.** ``singleuser.profileList`` entries may carry
  ``allowed_groups`` (JupyterHub group names or shell patterns such as
  ``beamtime-*``). Each user sees, and can start, only the profiles allowed
  to one of their groups: the list is a callable, so the same filter applies
  to the spawn form and to spawns through the REST API (an unknown profile
  slug is refused by KubeSpawner).
* **Per-proposal data, read-only.** For every group ``proposal-<id>`` of the
  user, the sub-directory ``proposals/<id>`` of the data volume is mounted
  read-only at ``/data/proposals/<id>`` (a pre-spawn hook).
* **Per-user data-service key.** The hub holds the service's master key
  (``DAISY_TILED_MASTER_KEY``, from its Secret); each user server gets a key
  derived for its user only (``DAISY_TILED_API_KEY``), which the service accepts
  for the shared data (read-only) and ``users/<name>`` (read-write), never for
  another user's area. The derivation is ``daisy_widgets.store.access.user_api_key``.
* **Mergeable lists.** Volumes, mounts and tolerations become dictionaries
  keyed by name, so a profile's ``kubespawner_override`` adds to them (e.g. a
  bigger ``/dev/shm``, the GPU toleration) instead of replacing the home
  volume or the chart's own tolerations.
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import hmac
import os
import re
from collections.abc import Callable
from typing import Any


def group_allowed(profile: dict[str, Any], groups: list[str] | set[str]) -> bool:
    """True when a member of ``groups`` may start ``profile`` (no ``allowed_groups``: everyone)."""
    allowed = profile.get("allowed_groups") or ()
    if not allowed:
        return True
    return any(fnmatch.fnmatchcase(g, pat) for g in groups for pat in allowed)


def allowed_profiles(
    profile_list: list[dict[str, Any]], groups: list[str] | set[str]
) -> list[dict[str, Any]]:
    """The profiles a member of ``groups`` may start, in order.

    When the default profile is filtered out, the first remaining profile
    becomes the default (KubeSpawner needs one).
    """
    out = [copy.deepcopy(p) for p in profile_list if group_allowed(p, groups)]
    if out and not any(p.get("default") for p in out):
        out[0]["default"] = True
    return out


def user_groups(spawner: Any) -> list[str]:
    """Names of the JupyterHub groups of the spawner's user."""
    return sorted(g.name for g in getattr(spawner.user, "groups", []) or [])


def proposal_ids(groups: list[str] | set[str], prefix: str, id_pattern: str) -> list[str]:
    """Proposal ids of the groups ``<prefix><id>``; ids not matching ``id_pattern`` are ignored."""
    pat = re.compile(id_pattern)
    return [g[len(prefix) :] for g in sorted(groups) if g.startswith(prefix) and pat.match(g[len(prefix) :])]


def by_name(items: Any, key: str = "name") -> dict[str, Any]:
    """A list of Kubernetes objects as a dictionary keyed by ``key`` (dictionaries pass through)."""
    if isinstance(items, dict):
        return dict(items)
    out: dict[str, Any] = {}
    for i, item in enumerate(items or []):
        name = item.get(key) or f"item-{i}"
        if name in out:  # same volume mounted twice (subPaths)
            name = f"{name}-{item.get('mountPath', i)}"
        out[name] = item
    return out


#: the hub's variable holding the data service's master key (``hub.extraEnv``, from the Secret)
SERVICE_KEY_VAR = "DAISY_TILED_MASTER_KEY"


def user_service_key(master: str, user: str) -> str:
    """The data-service key of ``user``: the same as ``daisy_widgets.store.access.user_api_key``
    (restated here because the hub image has no Daisy package; a test compares the two)."""
    mac = hmac.new(master.encode(), b"daisy-user-key:" + user.encode(), hashlib.sha256).hexdigest()[:40]
    return f"u{user.encode().hex()}_{mac}"


def proposal_data_hook(settings: dict[str, Any]) -> Callable[[Any], None]:
    """A ``pre_spawn_hook`` mounting each proposal of the user read-only, and giving the
    server the user's own data-service key (when the hub has the master key).

    ``settings``: ``data_pvc``, ``data_subpath`` and ``data_mount`` (with
    ``{proposal}``), ``proposal_prefix``, ``proposal_id_pattern``.
    """

    def hook(spawner: Any) -> None:
        ids = proposal_ids(user_groups(spawner), settings["proposal_prefix"], settings["proposal_id_pattern"])
        volumes = by_name(spawner.volumes)
        mounts = by_name(spawner.volume_mounts)
        if ids:
            volumes["proposal-data"] = {
                "name": "proposal-data",
                "persistentVolumeClaim": {"claimName": settings["data_pvc"], "readOnly": True},
            }
        for pid in ids:
            mounts[f"proposal-{pid}"] = {
                "name": "proposal-data",
                "mountPath": settings["data_mount"].format(proposal=pid),
                "subPath": settings["data_subpath"].format(proposal=pid),
                "readOnly": True,
            }
        spawner.volumes = volumes
        spawner.volume_mounts = mounts
        env = {**spawner.environment, "DAISY_PROPOSALS": ",".join(ids)}
        master = os.environ.get(SERVICE_KEY_VAR)
        if master:
            env["DAISY_TILED_API_KEY"] = user_service_key(master, spawner.user.name)
        spawner.environment = env

    return hook


def group_profile_list(profile_list: list[dict[str, Any]]) -> Callable[[Any], list[dict[str, Any]]]:
    """A KubeSpawner ``profile_list`` callable showing each user only their allowed profiles."""
    full = copy.deepcopy(list(profile_list))

    def profiles_for(spawner: Any) -> list[dict[str, Any]]:
        return allowed_profiles(full, user_groups(spawner))

    return profiles_for


def configure(c: Any, settings: dict[str, Any]) -> None:
    """Apply Daisy's additions to a JupyterHub config object ``c`` (see the module docstring)."""
    ks = c.KubeSpawner
    for trait in ("volumes", "volume_mounts"):
        ks[trait] = by_name(ks.get(trait, []))
    ks.tolerations = by_name(ks.tolerations if "tolerations" in ks else [], key="key")
    profiles = ks.profile_list if "profile_list" in ks else []
    if profiles and not callable(profiles):
        ks.profile_list = group_profile_list(profiles)
    ks.pre_spawn_hook = proposal_data_hook(settings)
