"""The site on one machine, end to end, as root: real accounts, the default login, HTTPS, limits.

``daisy site install`` (the real command) on a temporary site folder with a test-only account
prefix, a self-signed certificate made with ``openssl`` and free loopback ports. Through
Chromium: an admin and the users alice and bob sign up on the hub's own pages, the admin
approves them, each logs in and lands on the app index served by their own server.
Then alice's kernel (code run over the kernel's websocket from alice's page) must get a
PermissionError on bob's home and key file and on writing the shared data, and run as
alice's account (checked with psutil, from inside and from outside); alice's cookie must
not open bob's server; the admin's page lists both; a wrong password and an anonymous API
call are refused. A second install (an upgrade) keeps the homes, the hub database and
the keys. ``daisy site status`` and ``daisy site stop`` are run too. Every account the test
made is removed afterwards (``userdel -r``), also when it fails.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests
import urllib3

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "dtst" + secrets.token_hex(2) + "-"  # test-only accounts: dtstXXXX-alice
ADMIN = "siteadmin"
USERS = ("alice", "bob")


def _cmdline(proc) -> list[str]:
    try:
        return proc.cmdline()
    except Exception:  # gone, or not ours to read
        return []


def _password(user: str) -> str:
    return f"Daisy-{user}-7kq!Zr"


def _daisy(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "daisy_widgets.cli", "site", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def _remove_test_accounts() -> list[str]:
    from daisy_widgets.site.accounts import remove_account
    from daisy_widgets.site.limits import remove_user_group

    removed = []
    for entry in pwd.getpwall():
        if entry.pw_name.startswith(PREFIX):
            remove_account(entry.pw_name)
            remove_user_group(entry.pw_name)
            removed.append(entry.pw_name)
    return removed


@pytest.fixture(scope="module")
def site(e2e_harness):
    harness = e2e_harness
    if os.geteuid() != 0:
        pytest.skip("the site test makes system accounts: run it as root")
    why = harness.missing_prerequisites()
    if why:
        pytest.skip(why)
    for tool in ("useradd", "userdel", "openssl"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} missing")
    base = Path(tempfile.mkdtemp(prefix="daisy-site-test-"))
    os.chmod(base, 0o755)  # the users' environment lives below it
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(base / "key.pem"), "-out", str(base / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    ports = set()
    while len(ports) < 3:
        ports.add(harness.free_port())
    port, hub_port, api_port = sorted(ports)
    config = base / "site.yaml"
    config.write_text(
        f"root: {base / 'root'}\naddress: 127.0.0.1\nport: {port}\nhub_port: {hub_port}\n"
        f"proxy_api_port: {api_port}\nhttps:\n  certificate: cert.pem\n  key: key.pem\n"
        f"authenticator:\n  kind: native\nusers:\n  prefix: {PREFIX}\n  home_root: {base / 'homes'}\n"
        f"  admins: [{ADMIN}]\n  groups:\n    daisy-gpu: [alice]\nlimits:\n  memory: 3G\n  cpu: 1.5\n  tasks: 2048\n"
        "cull_idle_seconds: 3600\n"
    )
    info = {"config": config, "base": base, "url": f"https://127.0.0.1:{port}/", "install": None}
    try:
        proc = _daisy("install", "--config", str(config))
        info["install"] = proc
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield info
    finally:
        _daisy("stop", "--config", str(config), timeout=180)
        removed = _remove_test_accounts()
        print(f"removed test accounts: {removed}")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def chromium(site, e2e_harness):
    harness = e2e_harness
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=harness.CHROMIUM, args=harness.CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _page(chromium):
    ctx = chromium.new_context(ignore_https_errors=True, viewport={"width": 1300, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(240_000)
    return page


def _sign_up(page, url: str, user: str) -> None:
    page.goto(url + "hub/signup")
    page.fill("#username_input", user)
    page.fill("#password_input", _password(user))
    page.fill("#password_confirmation_input", _password(user))
    page.click("#signup_submit")
    page.wait_for_load_state()
    text = page.inner_text("body")
    expected = "The signup was successful" if user == ADMIN else "Your information has been sent to the admin"
    assert expected in text, text[:800]


def _log_in(page, url: str, user: str, password: str | None = None) -> None:
    page.goto(url + "hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", password or _password(user))
    page.click("#login_submit")


RUN_IN_KERNEL = """async ({code}) => {
  const base = document.baseURI.replace(/(voila\\/render\\/|daisy\\/apps).*$/, '');
  const xsrf = decodeURIComponent((document.cookie.split('; ').find(c => c.startsWith('_xsrf=')) || '=').split('=')[1]);
  const r = await fetch(base + 'api/kernels', {method: 'POST', headers: {'X-XSRFToken': xsrf,
            'Content-Type': 'application/json'}, body: JSON.stringify({name: 'daisy-python3'})});
  const kernel = await r.json();
  const ws = new WebSocket(base.replace(/^http/, 'ws') + 'api/kernels/' + kernel.id + '/channels');
  const id = 'daisy-site-test-' + Math.random();
  let out = '';
  return await new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error('no answer in 240 s: ' + out)), 240000);
    ws.onerror = (e) => reject(new Error('websocket error'));
    ws.onopen = () => ws.send(JSON.stringify({header: {msg_id: id, msg_type: 'execute_request', username: '',
        session: id, version: '5.3', date: new Date().toISOString()}, parent_header: {}, metadata: {},
        channel: 'shell', content: {code, silent: false, store_history: false, user_expressions: {},
        allow_stdin: false, stop_on_error: true}}));
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (!m.parent_header || m.parent_header.msg_id !== id) return;
      if (m.msg_type === 'stream') out += m.content.text;
      if (m.msg_type === 'error') out += 'ERROR ' + m.content.ename + ': ' + m.content.evalue;
      if (m.msg_type === 'status' && m.content.execution_state === 'idle') {
        ws.close(); resolve({kernel: kernel.id, out});
      }
    };
  });
}"""

PROBE = """
import json, os, psutil
from pathlib import Path
res = {{"uid": os.getuid(), "euid": os.geteuid(), "server_uid": psutil.Process().parent().uids().real}}
def attempt(name, fn):
    try:
        fn()
        res[name] = "allowed"
    except PermissionError:
        res[name] = "PermissionError"
    except Exception as exc:
        res[name] = type(exc).__name__
attempt("list_bob_home", lambda: os.listdir({bob_home!r}))
attempt("read_bob_key", lambda: open({bob_key!r}).read())
attempt("write_shared_data", lambda: open(os.path.join({data!r}, "mine.txt"), "w").write("x"))
attempt("append_shared_file", lambda: open({data_file!r}, "ab").write(b"x"))
attempt("read_own_key", lambda: Path.home().joinpath(".daisy", "tiled_api_key").read_text())
res["own_key"] = Path.home().joinpath(".daisy", "tiled_api_key").read_text().strip()
res["home"] = str(Path.home())
res["cuda_visible"] = os.environ.get("CUDA_VISIBLE_DEVICES")
Path.home().joinpath("notes.txt").write_text("alice's notes")
import requests
from daisy_widgets.store.settings import client_settings
url, key = client_settings()  # from ~/.daisy (DAISY_STATE_DIR), the key file only alice reads
auth = {{"Authorization": "Apikey " + key}}
res["service_shared"] = requests.get(url + "/v1/search/hxmt", headers=auth, timeout=30).status_code
res["service_bobs_area"] = requests.get(url + "/v1/metadata/users/bob", headers=auth, timeout=30).status_code
print("PROBE" + json.dumps(res))
"""


def test_site_isolates_users_and_keeps_their_data(site, chromium, e2e_harness):
    harness = e2e_harness
    urllib3.disable_warnings()
    url = site["url"]
    install_out = site["install"].stdout
    assert "limits:" in install_out and "Daisy site running at " + url in install_out, install_out

    # --- sign-up, admin approval, log-in: the default login (nativeauthenticator) -----------
    admin = _page(chromium)
    _sign_up(admin, url, ADMIN)  # an admin of site.yaml is approved at sign-up
    for user in USERS:
        p = _page(chromium)
        _sign_up(p, url, user)
        _log_in(p, url, user)
        p.wait_for_load_state()
        assert "not been authorized" in p.inner_text("body")  # waits for the admin
        p.context.close()
    _log_in(admin, url, ADMIN)
    admin.wait_for_url("**/user/siteadmin/**")
    admin.goto(url + "hub/authorize")
    for user in USERS:
        admin.goto(url + f"hub/authorize/{user}")
    pages = {}
    for user in USERS:
        p = _page(chromium)
        _log_in(p, url, user)
        p.wait_for_url(f"**/user/{user}/{harness.INDEX_PATH}*", timeout=240_000)
        harness.wait_index_ready(p)
        assert p.locator(".daisy-app-index").count() == 1
        pages[user] = p

    accounts = {u: pwd.getpwnam(PREFIX + u) for u in USERS}
    homes = {u: Path(a.pw_dir) for u, a in accounts.items()}
    for user, home in homes.items():
        assert home.stat().st_mode & 0o777 == 0o700 and home.stat().st_uid == accounts[user].pw_uid
        key = home / ".daisy" / "tiled_api_key"
        assert key.stat().st_mode & 0o777 == 0o600 and key.stat().st_uid == accounts[user].pw_uid

    # --- alice's kernel: her uid, no way into bob's files, shared data read-only -------------
    data = site["base"] / "root" / "data"
    data_file = next(p for p in sorted(data.rglob("*.h5")))
    code = PROBE.format(
        bob_home=str(homes["bob"]), bob_key=str(homes["bob"] / ".daisy" / "tiled_api_key"),
        data=str(data), data_file=str(data_file),
    )  # fmt: skip
    result = pages["alice"].evaluate(RUN_IN_KERNEL, {"code": code})
    assert "PROBE" in result["out"], result["out"]
    probe = json.loads(result["out"].split("PROBE", 1)[1])
    alice_uid = accounts["alice"].pw_uid
    assert probe["uid"] == probe["euid"] == probe["server_uid"] == alice_uid, probe
    assert probe["list_bob_home"] == "PermissionError", probe
    assert probe["read_bob_key"] == "PermissionError", probe
    assert probe["write_shared_data"] == "PermissionError", probe
    assert probe["append_shared_file"] == "PermissionError", probe
    assert probe["read_own_key"] == "allowed" and probe["home"] == str(homes["alice"])
    assert probe["service_shared"] == 200 and probe["service_bobs_area"] == 403, probe  # her own key
    assert probe["cuda_visible"] is None  # alice is in daisy-gpu (site.yaml): the GPU is not hidden
    bob = pages["bob"].evaluate(
        RUN_IN_KERNEL, {"code": "import os; print(repr(os.environ.get('CUDA_VISIBLE_DEVICES')))"}
    )
    assert bob["out"].strip() == "''", bob  # bob is not: CuPy sees no GPU
    from daisy_widgets.store.access import user_api_key

    master = (site["base"] / "root" / "state" / "tiled_api_key").read_text().strip()
    assert probe["own_key"] == user_api_key(master, "alice") != master

    import psutil

    kernel = next(
        p
        for p in psutil.process_iter(["cmdline"])
        if any(result["kernel"] in a for a in p.info["cmdline"] or [])
    )
    assert kernel.uids().real == kernel.uids().effective == alice_uid
    from daisy_widgets.site import limits

    backend = limits.detect_backend()
    if backend in ("cgroup1", "cgroup2"):  # the kernel is in alice's group, with the limits
        group = limits.UserGroup(
            [limits.CGROUP_ROOT / limits.GROUP / accounts["alice"].pw_name]
            if backend == "cgroup2"
            else [
                limits.CGROUP_ROOT / c / limits.GROUP / accounts["alice"].pw_name for c in ("memory", "cpu")
            ]
        )
        assert group.contains(kernel.pid)
        limit_file = "memory.max" if backend == "cgroup2" else "memory.limit_in_bytes"
        assert int((group.paths[0] / limit_file).read_text()) == 3 * 2**30

    assert (
        pages["alice"].context.request.get(url + "user/alice/lab").status == 200
    )  # JupyterLab as in the demo
    culler = [c for c in map(_cmdline, psutil.process_iter()) if "jupyterhub_idle_culler" in " ".join(c)]
    assert any("--timeout=3600" in c for c in culler), culler  # cull_idle_seconds of site.yaml

    # --- alice's cookie does not open bob's server -----------------------------------------------
    for path in (
        "api/contents",
        "lab",
        "voila/render/apps/index.ipynb",
        "daisy/apps",
        "daisy/apps/resources",
    ):
        r = pages["alice"].context.request.get(url + f"user/bob/{path}")  # redirects followed
        assert r.status == 403, (path, r.status, r.url)  # bob's server or the hub refuses
    assert pages["alice"].context.request.get(url + "hub/api/users/bob").status in (403, 404)

    # --- the admin sees both; wrong password and anonymous API refused -------------------------
    admin.goto(url + "hub/admin")
    for user in USERS:
        admin.get_by_text(user, exact=True).first.wait_for(timeout=180_000)
    listed = admin.evaluate(
        """async () => {
             const xsrf = decodeURIComponent((document.cookie.split('; ').find(c => c.startsWith('_xsrf=')) || '=').split('=')[1]);
             const r = await fetch('/hub/api/users', {headers: {'X-XSRFToken': xsrf}});
             return (await r.json()).map(u => [u.name, !!(u.servers && u.servers[''] && u.servers[''].ready)]);
           }"""
    )
    assert {n: ready for n, ready in listed if n in USERS} == {"alice": True, "bob": True}, listed
    wrong = _page(chromium)
    _log_in(wrong, url, "alice", "not-alices-password")
    wrong.wait_for_load_state()
    assert "Invalid username or password" in wrong.inner_text("body")
    assert "/user/alice" not in wrong.url
    for path in ("hub/api/users", "hub/api/users/alice", "hub/api/users/alice/server"):
        assert requests.get(url + path, verify=False, timeout=30).status_code in (401, 403), path
    assert requests.post(url + "hub/api/users/mallory/server", verify=False, timeout=30).status_code in (
        401,
        403,
    )
    # the site speaks TLS with the site's certificate
    r = requests.get(url + "hub/health", verify=str(site["base"] / "cert.pem"), timeout=30)
    assert r.status_code == 200

    # --- status, then an upgrade: install again; homes, hub database and keys are kept -----------
    st = _daisy("status", "--config", str(site["config"]), "--json")
    assert st.returncode == 0, st.stdout + st.stderr
    status = json.loads(st.stdout)
    assert status["running"] and {PREFIX + u for u in USERS} <= set(status["accounts"])
    keys_before = {u: (h / ".daisy" / "tiled_api_key").read_text() for u, h in homes.items()}
    for p in (*pages.values(), admin, wrong):
        p.context.close()
    again = _daisy("install", "--config", str(site["config"]))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "upgrade" in again.stdout
    assert (site["base"] / "root" / "state" / "tiled_api_key").read_text().strip() == master
    assert (homes["alice"] / "notes.txt").read_text() == "alice's notes"
    assert {u: (h / ".daisy" / "tiled_api_key").read_text() for u, h in homes.items()} == keys_before
    p = _page(chromium)
    _log_in(p, url, "alice")  # the hub database kept her account and the admin's approval
    p.wait_for_url(f"**/user/alice/{harness.INDEX_PATH}*", timeout=240_000)
    harness.wait_index_ready(p)
    p.context.close()

    # --- stop ------------------------------------------------------------------------------------
    stopped = _daisy("stop", "--config", str(site["config"]), timeout=180)
    assert stopped.returncode == 0, stopped.stderr
    assert _daisy("status", "--config", str(site["config"])).returncode == 3
    left = [
        p.pid for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == alice_uid
    ]
    assert not left, f"alice's processes outlived the site: {left}"
