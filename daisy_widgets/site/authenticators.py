"""The site's login: JupyterHub authenticator settings from ``authenticator:`` of ``site.yaml``.

``native``  local accounts kept by the hub (``jupyterhub-nativeauthenticator``): people sign
            up at ``/hub/signup`` and an admin approves them at ``/hub/authorize``
            (``open_signup: true`` approves everyone at once; the admins of ``users.admins``
            are approved when they sign up).
``pam``     the machine's own accounts through PAM; only members of
            ``authenticator.pam.allowed_groups`` (system groups) may log in.
``oauth``   the facility's single sign-on (OAuth2/OpenID Connect) through
            ``oauthenticator``'s ``GenericOAuthenticator``; who may log in and who is an
            admin can come from a groups claim of the identity provider.
"""

from __future__ import annotations

from typing import Any

from .config import SiteConfig


def native_templates() -> str:
    """The folder of nativeauthenticator's sign-up and authorization pages."""
    from pathlib import Path

    import nativeauthenticator

    return str(Path(nativeauthenticator.__file__).parent / "templates")


def configure_authenticator(c: Any, site: SiteConfig) -> None:
    """Set the authenticator of the hub configuration ``c`` from ``site``."""
    if site.authenticator == "native":
        c.JupyterHub.authenticator_class = "daisy_widgets.site.native_login.DaisyNativeAuthenticator"
        c.JupyterHub.template_paths = [native_templates()]
        c.NativeAuthenticator.open_signup = bool(site.native.get("open_signup", False))
        c.NativeAuthenticator.minimum_password_length = int(site.native.get("minimum_password_length", 10))
        c.NativeAuthenticator.check_common_password = True
        c.NativeAuthenticator.allowed_failed_logins = 5
        c.NativeAuthenticator.seconds_before_next_try = 60
        # the authenticator itself refuses users an admin has not approved
        c.Authenticator.allow_all = True
    elif site.authenticator == "pam":
        c.JupyterHub.authenticator_class = "jupyterhub.auth.PAMAuthenticator"
        c.PAMAuthenticator.allowed_groups = set(site.pam.get("allowed_groups", ()))
        c.PAMAuthenticator.open_sessions = False
    elif site.authenticator == "oauth":
        o = site.oauth
        c.JupyterHub.authenticator_class = "oauthenticator.generic.GenericOAuthenticator"
        c.GenericOAuthenticator.client_id = o["client_id"]
        c.GenericOAuthenticator.client_secret = o["client_secret_file"].read_text().strip()
        c.GenericOAuthenticator.authorize_url = o["authorize_url"]
        c.GenericOAuthenticator.token_url = o["token_url"]
        c.GenericOAuthenticator.userdata_url = o["userdata_url"]
        c.GenericOAuthenticator.oauth_callback_url = o["callback_url"]
        c.GenericOAuthenticator.scope = list(o.get("scope", ["openid", "profile", "email"]))
        c.GenericOAuthenticator.username_claim = o.get("username_claim", "preferred_username")
        c.GenericOAuthenticator.enable_pkce = True
        groups_claim = o.get("groups_claim")
        if groups_claim:  # the person's hub groups follow the identity provider at each login
            c.GenericOAuthenticator.manage_groups = True
            c.GenericOAuthenticator.auth_state_groups_key = f"oauth_user.{groups_claim}"
        if o.get("allowed_groups"):
            c.GenericOAuthenticator.allowed_groups = set(o["allowed_groups"])
        if o.get("admin_groups"):
            c.GenericOAuthenticator.admin_groups = set(o["admin_groups"])
        if not o.get("allowed_groups"):
            c.GenericOAuthenticator.allow_all = True  # everyone the facility's login accepts
    else:  # refused by check_config already
        raise ValueError(f"unknown authenticator {site.authenticator!r}")
