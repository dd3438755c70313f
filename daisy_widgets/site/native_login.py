"""``jupyterhub-nativeauthenticator`` on JupyterHub 6: its login page still times itself with
``self.statsd``, which JupyterHub 6 removed (the POST then fails with an AttributeError).
:class:`DaisyNativeAuthenticator` serves the same pages with a login handler that has a
no-op ``statsd``; everything else (sign-up, admin approval, passwords) is nativeauthenticator's.
"""

from __future__ import annotations

from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import LoginHandler


class _NoTimer:
    def timer(self, name: str) -> _NoTimer:
        return self

    def start(self) -> _NoTimer:
        return self

    def stop(self, send: bool = True) -> None:
        return None


class CompatLoginHandler(LoginHandler):
    """nativeauthenticator's login page, with the ``statsd`` JupyterHub < 6 provided."""

    @property
    def statsd(self):  # JupyterHub < 6 had a StatsClient here; >= 6 has none
        return getattr(super(), "statsd", None) or _NoTimer()


class DaisyNativeAuthenticator(NativeAuthenticator):
    """NativeAuthenticator whose ``/login`` handler works on JupyterHub 5 and 6."""

    def get_handlers(self, app):
        return [(p, CompatLoginHandler if p == r"/login" else h) for p, h in super().get_handlers(app)]
