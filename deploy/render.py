"""Render deploy/nginx.conf.template into an nginx configuration for this installation.

    ONSITE_SERVER_NAME=service.example.cn \
    ONSITE_TLS_CERT=/etc/onsite/tls/fullchain.pem ONSITE_TLS_KEY=/etc/onsite/tls/key.pem \
    .venv/bin/python deploy/render.py --out /etc/onsite/nginx.conf

The body limit comes from the app's own setting (ONSITE_MAX_BODY_BYTES) and the upstream
address from deploy/gunicorn.conf.py (ONSITE_BIND), so neither is written twice.
"""

from __future__ import annotations

import argparse
import os
import re
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from server.config import Config  # noqa: E402

TEMPLATE = HERE / "nginx.conf.template"

HTTP_REDIRECT = """    server {{
        listen {listen};
        server_name {name};
        return 301 https://$host{port}$request_uri;
    }}
"""


def settings(env: dict[str, str]) -> dict[str, str]:
    """Return the template's values from the environment, with production defaults."""
    https_listen = env.get("ONSITE_HTTPS_LISTEN", "443")
    http_listen = env.get("ONSITE_HTTP_LISTEN", "80")
    https_port = https_listen.rsplit(":", 1)[-1]
    user = env.get("ONSITE_NGINX_USER", "www-data")
    name = env.get("ONSITE_SERVER_NAME", "localhost")
    return {
        "USER_LINE": f"user {user};" if user else "",
        "RUN_DIR": env.get("ONSITE_NGINX_RUN_DIR", "/run/onsite-nginx"),
        "LOG_DIR": env.get("ONSITE_NGINX_LOG_DIR", "/var/log/nginx"),
        "MIME_TYPES": env.get("ONSITE_NGINX_MIME_TYPES", "/etc/nginx/mime.types"),
        "MAX_BODY_BYTES": str(Config().MAX_CONTENT_LENGTH),
        "UPSTREAM": runpy.run_path(str(HERE / "gunicorn.conf.py"))["bind"],
        "SERVER_NAME": name,
        "HTTPS_LISTEN": https_listen,
        "TLS_CERT": env["ONSITE_TLS_CERT"],
        "TLS_KEY": env["ONSITE_TLS_KEY"],
        "HTTP_SERVER": HTTP_REDIRECT.format(
            listen=http_listen, name=name, port="" if https_port == "443" else f":{https_port}"
        )
        if http_listen
        else "",
    }


def render(values: dict[str, str]) -> str:
    """Fill the template; a placeholder left unfilled is an error, not a broken config."""
    text = TEMPLATE.read_text(encoding="utf-8")
    out = re.sub(r"@@([A-Z_]+)@@", lambda m: values[m.group(1)], text)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="-", help="file to write (default: standard output)")
    args = parser.parse_args()
    try:
        text = render(settings(dict(os.environ)))
    except KeyError as exc:
        raise SystemExit(f"deploy/render.py: set {exc.args[0]} (see README, Production)") from None
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        run_dir = settings(dict(os.environ))["RUN_DIR"]
        Path(run_dir).mkdir(parents=True, exist_ok=True)


if __name__ == "__main__":
    main()
