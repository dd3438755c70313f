"""The Daisy site on one machine: a system account per user, the facility's login, HTTPS.

``daisy site install --config site.yaml`` (run as root) validates the configuration
(:mod:`.config`), prepares the site folder and starts the hub (:mod:`.install`);
the hub's configuration (``hub_config/site_config.py``) creates the users' accounts
and private homes (:mod:`.accounts`) and applies the per-user limits (:mod:`.limits`).
See ``docs/deploy-site.md``.
"""
